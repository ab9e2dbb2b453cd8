"""The ``cloudpickle.cloudpickle`` names that cloudpickle's suite imports.

The suite imports five private helpers at module level. One of them
(``_make_empty_cell``) is test scaffolding with an exact stdlib
equivalent; the others are cloudpickle's internals, which oxpickle does not
have. They raise, and the tests that call them are listed as
not applicable in ``tests/cloudpickle_suite/not_applicable.py``.
"""

import types
from typing import Any, NoReturn

from oxpickle import DEFAULT_PROTOCOL, Pickler, dump, dumps

__all__ = ["DEFAULT_PROTOCOL", "Pickler", "dump", "dumps"]


def _make_empty_cell() -> types.CellType:
    return types.CellType()


def _internal(name: str) -> Any:
    def helper(*args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            f"cloudpickle.cloudpickle.{name} is cloudpickle's private helper; "
            "oxpickle has no equivalent (see tests/cloudpickle_suite/not_applicable.py)"
        )

    helper.__name__ = name
    return helper


_should_pickle_by_reference = _internal("_should_pickle_by_reference")
_extract_class_dict = _internal("_extract_class_dict")
_whichmodule = _internal("_whichmodule")
_lookup_module_and_qualname = _internal("_lookup_module_and_qualname")
_extract_code_globals = _internal("_extract_code_globals")
