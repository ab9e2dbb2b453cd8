"""Reducers for stdlib objects that the stdlib's pickle refuses but that
have a faithful form on the receiving side, called by the Rust engine.

The engine looks a reducer up by the object's exact type, after the
Pickler's dispatch table and copyreg's, so a user's registration wins.
"""

from __future__ import annotations

import abc
import dataclasses
import io
import sys
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from . import _reconstruct
from ._oxpickle import PicklingError


def _wrapped_callable(obj: Any) -> tuple[Any, ...]:
    return (type(obj), (obj.__func__,))


def _property_reduce(prop: property) -> tuple[Any, ...]:
    return (type(prop), (prop.fget, prop.fset, prop.fdel, prop.__doc__))


def _method_reduce(method: types.MethodType) -> tuple[Any, ...]:
    """A bound method as the stdlib pickles it (``getattr(obj, name)``)
    when that finds it again, else as ``MethodType(func, obj)`` (a lambda
    assigned as a method has no name to look up)."""
    owner, func = method.__self__, method.__func__
    if getattr(owner, func.__name__, None) == method:
        return (getattr, (owner, func.__name__))
    return (types.MethodType, (func, owner))


# ----- files ----------------------------------------------------------------

_STD_STREAMS = ("stdout", "stderr")


def _file_reduce(file: Any) -> tuple[Any, ...]:
    """The standard output streams as the receiver's own; a file open for
    reading as an in-memory copy of its contents, at the same position.

    What a file means elsewhere (another process, another machine) is its
    contents, not its descriptor: the copy is what the receiver can read.
    """
    for name in _STD_STREAMS:
        if file is getattr(sys, name, None):
            return (getattr, (sys, name))
    if file is sys.stdin:
        raise PicklingError(
            "Cannot pickle standard input: it is the reading end of this process's "
            "terminal or pipe. Read what you need from it and pickle that."
        )
    if file.closed:
        raise PicklingError(
            "Cannot pickle closed files: the contents are no longer readable. Pickle the "
            "file before closing it, or pickle its name and reopen it on the other side."
        )
    if file.isatty():
        raise PicklingError("Cannot pickle files that map to tty objects (a terminal)")
    mode = getattr(file, "mode", "")
    if "r" not in mode and "+" not in mode:
        raise PicklingError(
            f"Cannot pickle files that are not opened for reading: {mode}. Pickle what "
            "was written, or open the file with 'r' or '+'."
        )
    name = getattr(file, "name", None)
    try:
        position = file.tell()
        file.seek(0)
        contents = file.read()
        file.seek(position)
        # A text file's tell() is an opaque cookie; its position in the copy
        # is the number of characters before it.
        offset = len(contents) - len(file.read())
        file.seek(position)
    except OSError as err:
        raise PicklingError(
            f"Cannot pickle file {name!r} as it cannot be read: {err}. Pickle its contents instead."
        ) from err
    return (_reconstruct.file_copy, (contents, offset, name))


#: Reducers by exact type, consulted after the Pickler's dispatch table.
REDUCERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    classmethod: _wrapped_callable,
    staticmethod: _wrapped_callable,
    abc.abstractclassmethod: _wrapped_callable,
    abc.abstractstaticmethod: _wrapped_callable,
    types.MethodType: _method_reduce,
    memoryview: lambda m: (bytes, (m.tobytes(),)),
    property: _property_reduce,
    abc.abstractproperty: _property_reduce,
    weakref.WeakSet: lambda s: (weakref.WeakSet, (list(s),)),
    types.MappingProxyType: lambda m: (types.MappingProxyType, (dict(m),)),
    type({}.keys()): lambda v: (_reconstruct.dict_keys, (list(v),)),
    type({}.values()): lambda v: (_reconstruct.dict_values, (list(v),)),
    type({}.items()): lambda v: (_reconstruct.dict_items, (list(v),)),
    type(OrderedDict().keys()): lambda v: (_reconstruct.odict_keys, (list(v),)),
    type(OrderedDict().values()): lambda v: (_reconstruct.odict_values, (list(v),)),
    type(OrderedDict().items()): lambda v: (_reconstruct.odict_items, (list(v),)),
    types.GetSetDescriptorType: lambda d: (getattr, (d.__objclass__, d.__name__)),
    types.MemberDescriptorType: lambda d: (getattr, (d.__objclass__, d.__name__)),
    # dataclasses compares these sentinels by identity: they must come back
    # as the receiver's own, not as copies.
    type(dataclasses.MISSING): lambda _: (getattr, (dataclasses, "MISSING")),
    type(dataclasses.KW_ONLY): lambda _: (getattr, (dataclasses, "KW_ONLY")),
    dataclasses._FIELD_BASE: lambda s: (getattr, (dataclasses, s.name)),  # type: ignore[attr-defined]
    io.TextIOWrapper: _file_reduce,
    io.BufferedReader: _file_reduce,
    io.BufferedWriter: _file_reduce,
    io.BufferedRandom: _file_reduce,
    io.FileIO: _file_reduce,
}
