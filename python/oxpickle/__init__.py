"""oxpickle: the pickle format with a Rust engine.

A drop-in for the standard library's ``pickle``: ``import oxpickle as pickle``
works for code written against the stdlib API. The standard library reads
what oxpickle writes and oxpickle reads what it writes.

Functions and classes the receiver cannot import by name (lambdas,
closures, anything defined in ``__main__`` or inside a function, modules
registered with :func:`register_pickle_by_value`) travel by value.
"""

from pickle import PickleBuffer

from ._byvalue import (
    list_registry_pickle_by_value,
    register_pickle_by_value,
    unregister_pickle_by_value,
)
from ._oxpickle import (
    DEFAULT_PROTOCOL,
    HIGHEST_PROTOCOL,
    DeepRecursionError,
    Limits,
    PickleError,
    Pickler,
    PicklingError,
    UnpicklableError,
    Unpickler,
    UnpicklingError,
    UnsafePickleError,
    dump,
    dumps,
    load,
    loads,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "DeepRecursionError",
    "HIGHEST_PROTOCOL",
    "Limits",
    "PickleBuffer",
    "PickleError",
    "Pickler",
    "PicklingError",
    "Unpickler",
    "UnpicklableError",
    "UnpicklingError",
    "UnsafePickleError",
    "dump",
    "dumps",
    "load",
    "list_registry_pickle_by_value",
    "loads",
    "register_pickle_by_value",
    "unregister_pickle_by_value",
]
