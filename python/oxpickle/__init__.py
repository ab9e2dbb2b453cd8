"""oxpickle: the pickle format with a Rust engine.

A drop-in for the standard library's ``pickle``: ``import oxpickle as pickle``
works for code written against the stdlib API. The standard library reads
what oxpickle writes and oxpickle reads what it writes.
"""

from pickle import PickleBuffer

from ._oxpickle import (
    DEFAULT_PROTOCOL,
    HIGHEST_PROTOCOL,
    PickleError,
    Pickler,
    PicklingError,
    Unpickler,
    UnpicklingError,
    dump,
    dumps,
    load,
    loads,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "HIGHEST_PROTOCOL",
    "PickleBuffer",
    "PickleError",
    "Pickler",
    "PicklingError",
    "Unpickler",
    "UnpicklingError",
    "dump",
    "dumps",
    "load",
    "loads",
]
