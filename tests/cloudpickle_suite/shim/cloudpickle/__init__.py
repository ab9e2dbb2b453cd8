"""cloudpickle's public API, served by oxpickle.

``make test-cloudpickle`` puts this package ahead of the real cloudpickle
on ``sys.path``, so that cloudpickle's own test suite (and its child
processes) pickle with oxpickle. Only the public names are mapped; the
private helpers a few tests import live in :mod:`cloudpickle.cloudpickle`.
"""

import functools
import os
import pickle
import sys
import warnings
from typing import Any

import oxpickle

from . import cloudpickle

__version__ = "3.1.3+oxpickle"

DEFAULT_PROTOCOL = oxpickle.DEFAULT_PROTOCOL

Pickler = oxpickle.Pickler
CloudPickler = Pickler

#: ``deterministic`` when dumps and dump run in oxpickle's deterministic mode
#: (the variable reaches the suite's child processes too).
MODE = os.environ.get("OXPICKLE_CLOUDPICKLE_MODE", "default")
if MODE not in ("default", "deterministic"):
    raise ImportError(f"OXPICKLE_CLOUDPICKLE_MODE={MODE!r}: use 'default' or 'deterministic'")
if MODE == "deterministic":
    dumps = functools.partial(oxpickle.dumps, deterministic=True)
    dump = functools.partial(oxpickle.dump, deterministic=True)
else:
    dumps = oxpickle.dumps
    dump = oxpickle.dump
# cloudpickle's loads and load are the stdlib's: what oxpickle writes must
# load without oxpickle's own loader.
loads = pickle.loads
load = pickle.load

register_pickle_by_value = oxpickle.register_pickle_by_value
unregister_pickle_by_value = oxpickle.unregister_pickle_by_value
list_registry_pickle_by_value = oxpickle.list_registry_pickle_by_value


def is_tornado_coroutine(func: Any) -> bool:
    """cloudpickle's deprecated check, kept in its public API."""
    warnings.warn(
        "is_tornado_coroutine is deprecated in cloudpickle; use tornado.gen.is_coroutine_function",
        DeprecationWarning,
        stacklevel=2,
    )
    gen = sys.modules.get("tornado.gen")
    return gen is not None and gen.is_coroutine_function(func)


__all__ = [
    "CloudPickler",
    "DEFAULT_PROTOCOL",
    "Pickler",
    "cloudpickle",
    "dump",
    "dumps",
    "is_tornado_coroutine",
    "list_registry_pickle_by_value",
    "load",
    "loads",
    "register_pickle_by_value",
    "unregister_pickle_by_value",
]
