"""How objects pickled by value are rebuilt on the receiving side.

Pickles name these functions by module and name, so they are a format:
renaming or removing one breaks every pickle that uses it.
Functions, code objects and cells are rebuilt with stdlib callables
(``types.FunctionType``, ``types.CodeType``, ``types.CellType``); only
classes, enums and a few helpers need code from here.
"""

from __future__ import annotations

import builtins
import gc
import io
import sys
import types
import typing
import weakref
from collections import OrderedDict
from typing import Any

from ._oxpickle import UnpicklingError

#: The interpreter's bytecode tag, e.g. ``cpython-311``; by-value code
#: carries the tag of the interpreter that compiled it.
PYTHON_TAG: str = sys.implementation.cache_tag

# Classes rebuilt (or defined) in this process, by tracker id, so that a
# class pickled by value in several pickles is one class here.
_classes_by_id: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_ids_by_class: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def check_python(tag: str) -> None:
    """Refuse code compiled by another Python: bytecode is not portable."""
    if tag != PYTHON_TAG:
        raise UnpicklingError(
            f"this pickle holds code compiled by {tag}, but this interpreter is {PYTHON_TAG}; "
            "bytecode only runs on the Python version that made it. Load the pickle with "
            f"{tag}, or pickle functions and classes from an importable module so they "
            "travel by reference."
        )


def track_class(tracker_id: str | None, cls: Any) -> Any:
    """The class already known under ``tracker_id``, or ``cls`` from now on."""
    if tracker_id is None:
        return cls
    known = _classes_by_id.setdefault(tracker_id, cls)
    if known is cls:
        _ids_by_class[cls] = tracker_id
    return known


def make_class(
    metaclass: type,
    name: str,
    bases: tuple[type, ...],
    namespace: dict[str, Any],
    tracker_id: str | None,
) -> Any:
    """A class skeleton: created with what must exist at creation time
    (``__slots__``, ``__module__``, ``__qualname__``); the rest of its dict
    arrives through :func:`set_class_state`."""
    cls = types.new_class(name, bases, {"metaclass": metaclass}, lambda ns: ns.update(namespace))
    return track_class(tracker_id, cls)


def class_namespace(cls: type) -> dict[str, Any]:
    """The dict behind ``cls.__dict__``, which code compiled in a class body
    (3.14's ``__annotate__``) holds in its ``__classdict__`` cell. Python
    reaches it only as what the read-only view refers to."""
    (namespace,) = gc.get_referents(cls.__dict__)
    return namespace


def make_enum(
    bases: tuple[type, ...],
    name: str,
    qualname: str,
    module: str,
    members: dict[str, Any],
    tracker_id: str | None,
) -> Any:
    """An enum class with its members; methods arrive through
    :func:`set_class_state`."""
    metaclass = type(bases[-1])
    namespace = metaclass.__prepare__(name, bases)
    for member, value in members.items():
        namespace[member] = value
    cls = metaclass(name, bases, namespace)
    cls.__module__ = module
    cls.__qualname__ = qualname
    return track_class(tracker_id, cls)


def set_class_state(cls: Any, state: tuple[dict[str, Any], list[type]]) -> None:
    """Fills a class skeleton: its attributes, then the virtual subclasses
    an ABC had registered."""
    attributes, registered = state
    for attribute, value in attributes.items():
        setattr(cls, attribute, value)
    for subclass in registered:
        cls.register(subclass)


def make_typevar(
    kind: type,
    name: str,
    bound: Any,
    constraints: tuple[Any, ...],
    covariant: bool,
    contravariant: bool,
    tracker_id: str | None,
) -> Any:
    """A TypeVar or ParamSpec defined where the receiver cannot import it."""
    if kind is typing.TypeVar:
        made = typing.TypeVar(
            name, *constraints, bound=bound, covariant=covariant, contravariant=contravariant
        )
    else:
        made = kind(name, bound=bound, covariant=covariant, contravariant=contravariant)
    return track_class(tracker_id, made)


def dict_keys(keys: list[Any]) -> Any:
    return dict.fromkeys(keys).keys()


def dict_values(values: list[Any]) -> Any:
    return dict(enumerate(values)).values()


def dict_items(items: list[tuple[Any, Any]]) -> Any:
    return dict(items).items()


def odict_keys(keys: list[Any]) -> Any:
    return OrderedDict.fromkeys(keys).keys()


def odict_values(values: list[Any]) -> Any:
    return OrderedDict(enumerate(values)).values()


def odict_items(items: list[tuple[Any, Any]]) -> Any:
    return OrderedDict(items).items()


def dynamic_module(name: str, namespace: dict[str, Any]) -> types.ModuleType:
    """A module that was not importable on the sending side (not in
    ``sys.modules``); it is not added to ``sys.modules`` here either."""
    module = types.ModuleType(name)
    # The sender leaves its own `__builtins__` out (it may hold what cannot
    # be pickled); code run in the module finds the receiver's.
    module.__dict__["__builtins__"] = builtins
    module.__dict__.update(namespace)
    return module


def file_copy(contents: str | bytes, position: int, name: Any) -> io.StringIO | io.BytesIO:
    """An in-memory copy of a file that was open for reading: its contents,
    read from ``position`` on, with the file's ``name``."""
    copy: io.StringIO | io.BytesIO
    copy = io.StringIO(contents) if isinstance(contents, str) else io.BytesIO(contents)
    copy.seek(position)
    copy.name = name  # type: ignore[union-attr]
    return copy
