"""Sender-side policy for pickling by value, called by the Rust engine.

The engine pickles functions, code objects and cells itself. This module
holds what is policy rather than mechanism: which modules travel by value
(the registry), how a class or enum is taken apart, and class tracker ids.
Reducers for stdlib objects the stdlib cannot pickle are in ``_reducers``.
"""

from __future__ import annotations

import abc
import enum
import itertools
import opcode as _opcode
import sys
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

from . import _reconstruct

_by_value_modules: set[str] = set()

#: The code object fields, in ``types.CodeType``'s argument order.
CODE_FIELDS: tuple[str, ...] = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_stacksize",
    "co_flags",
    "co_code",
    "co_consts",
    "co_names",
    "co_varnames",
    "co_filename",
    "co_name",
    "co_qualname",
    "co_firstlineno",
    "co_linetable",
    "co_exceptiontable",
    "co_freevars",
    "co_cellvars",
)


def _check_is_module(module: object) -> None:
    # The first sentence is cloudpickle's, so code that matches on it works.
    if not isinstance(module, types.ModuleType):
        raise ValueError(
            f"Input should be a module object, got {module} instead "
            f"(a {type(module).__name__}): pass the imported module itself, not its name"
        )


def register_pickle_by_value(module: types.ModuleType) -> None:
    """Pickle the functions and classes of ``module`` (and its submodules)
    by value, for receivers that cannot import it."""
    _check_is_module(module)
    if module.__name__ not in sys.modules:
        raise ValueError(
            f"{module} was not imported correctly, have you used an `import` statement "
            "to access it?"
        )
    _by_value_modules.add(module.__name__)


def unregister_pickle_by_value(module: types.ModuleType) -> None:
    """Undo :func:`register_pickle_by_value`."""
    _check_is_module(module)
    if module.__name__ not in _by_value_modules:
        raise ValueError(f"{module} is not registered for pickle by value")
    _by_value_modules.remove(module.__name__)


def list_registry_pickle_by_value() -> set[str]:
    """Names of the modules registered for pickling by value."""
    return _by_value_modules.copy()


def is_registered(module_name: str) -> bool:
    """Whether ``module_name`` or a package it belongs to is registered."""
    if not _by_value_modules:
        return False
    parts = module_name.split(".")
    return any(".".join(parts[:i]) in _by_value_modules for i in range(1, len(parts) + 1))


# ----- class tracker ids ---------------------------------------------------

_deterministic_counts: dict[str, int] = {}


def tracker_id(cls: Any, deterministic: bool) -> str:
    """The id a class travels under, stable for the life of the class, so
    a receiver maps repeated pickles of it to one class. Deterministic ids
    come from the class's name and its rank among same-named classes."""
    known = _reconstruct._ids_by_class.get(cls)
    if known is not None:
        return known
    if deterministic:
        name = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"
        rank = _deterministic_counts.get(name, 0)
        _deterministic_counts[name] = rank + 1
        made = f"{name}#{rank}"
    else:
        made = uuid.uuid4().hex
    _reconstruct._ids_by_class[cls] = made
    _reconstruct._classes_by_id.setdefault(made, cls)
    return made


# ----- classes -------------------------------------------------------------

# Attributes the class machinery makes by itself: sending them would be
# redundant (slot descriptors) or impossible (the __dict__ getset).
_MADE_BY_TYPE = ("__weakref__", "__dict__")
# What creation makes from `__annotations__` when the namespace has them.
_MADE_FROM_ANNOTATIONS = ("__annotate_func__", "__annotations_cache__")
_ABC_CACHES = ("_abc_cache", "_abc_negative_cache", "_abc_negative_cache_version", "_abc_impl")


def class_reduce(cls: type, deterministic: bool) -> tuple[Any, ...]:
    """The reduce tuple of a class that cannot be imported by the receiver:
    a skeleton, then its dict through a state setter."""
    if isinstance(cls, enum.EnumMeta) and cls._member_names_:
        return _enum_reduce(cls, deterministic)
    namespace: dict[str, Any] = {"__qualname__": cls.__qualname__}
    # The docstring is given at creation, as the class statement gives it:
    # set afterwards, it would sit after the attributes type() adds, and a
    # class rebuilt and pickled again would list its attributes in another
    # order than the original.
    for key in ("__module__", "__slots__", "__doc__"):
        if key in cls.__dict__:
            namespace[key] = cls.__dict__[key]
    # Generic, Protocol and TypedDict classes are rebuilt from the bases as
    # written (`Generic[T]`), which new_class resolves as the class
    # statement did; their `__bases__` (plain `Generic`) cannot be reused.
    # A typing.NamedTuple class is a plain tuple subclass underneath and is
    # rebuilt from its real bases.
    bases = cls.__dict__.get("__orig_bases__", cls.__bases__)
    if typing.NamedTuple in bases:
        bases = cls.__bases__
    _annotations_for_the_metaclass(cls, namespace)
    args = (type(cls), cls.__name__, bases, namespace, tracker_id(cls, deterministic))
    made = _MADE_FROM_ANNOTATIONS if "__annotations__" in namespace else ()
    state = (_class_attributes(cls, skip=[*namespace, *made]), _registered_subclasses(cls))
    return (_reconstruct.make_class, args, state, None, None, _reconstruct.set_class_state)


def _annotations_for_the_metaclass(cls: type, namespace: dict[str, Any]) -> None:
    """From 3.14 (PEP 649) a class body compiles its annotations into an
    `__annotate__` function, which travels in the class's state and stays
    lazy. A metaclass may replace it with one of its own (TypedDict's closes
    over typing's internals), made from the annotations it was given at
    creation: such a class gets its annotations, evaluated, at creation
    again, and the metaclass makes its function anew."""
    annotate = cls.__dict__.get("__annotate_func__")
    if annotate is None or annotate.__qualname__ == f"{cls.__qualname__}.__annotate__":
        return
    import annotationlib

    try:
        annotations = annotationlib.get_annotations(cls)
    except NameError:
        # A name not defined yet: kept as a forward reference.
        annotations = annotationlib.get_annotations(cls, format=annotationlib.Format.FORWARDREF)
    namespace["__annotations__"] = annotations


def _enum_reduce(cls: type, deterministic: bool) -> tuple[Any, ...]:
    members = {member.name: member._value_ for member in cls}  # type: ignore[attr-defined]
    skip = set(members) | _enum_internals(cls)
    args = (
        cls.__bases__,
        cls.__name__,
        cls.__qualname__,
        cls.__module__,
        members,
        tracker_id(cls, deterministic),
    )
    state = (_class_attributes(cls, skip=skip), [])
    return (_reconstruct.make_enum, args, state, None, None, _reconstruct.set_class_state)


def _enum_internals(cls: type) -> set[str]:
    """What the enum metaclass builds by itself when it creates the class."""
    fresh = enum.EnumMeta.__prepare__("probe", cls.__bases__)
    probe = type(cls)("probe", cls.__bases__, fresh)
    # The docstring is the user's, not the metaclass's.
    return (set(vars(probe)) - {"__doc__"}) | {"_generate_next_value_"}


def _class_attributes(cls: type, skip: Any) -> dict[str, Any]:
    """The class's own dict, less what creation makes, what an identical
    base attribute provides, and what `skip` names."""
    own = dict(vars(cls))
    slots = own.get("__slots__", ())
    for name in itertools.chain(
        _MADE_BY_TYPE, [slots] if isinstance(slots, str) else slots, skip
    ):
        own.pop(name, None)
    if isinstance(cls, abc.ABCMeta):
        for name in _ABC_CACHES:
            own.pop(name, None)
    inherited: dict[str, Any] = {}
    for base in reversed(cls.__bases__):
        inherited.update(vars(base))
    return {k: v for k, v in own.items() if k not in inherited or inherited[k] is not v}


def _registered_subclasses(cls: type) -> list[type]:
    if not isinstance(cls, abc.ABCMeta):
        return []
    registry = abc._get_dump(cls)[0]  # type: ignore[attr-defined]
    return [ref() for ref in registry if ref() is not None]


# ----- objects whose by-reference name the receiver cannot import -----------


def _typevar_reduce(var: Any, deterministic: bool) -> tuple[Any, ...]:
    constraints = getattr(var, "__constraints__", ())
    args = (
        type(var),
        var.__name__,
        var.__bound__,
        constraints,
        var.__covariant__,
        var.__contravariant__,
        tracker_id(var, deterministic),
    )
    return (_reconstruct.make_typevar, args)


#: Reducers for objects whose reduce names a global the receiver may not
#: import (a TypeVar defined in ``__main__``): used only then.
BY_VALUE_REDUCERS: dict[type, Callable[[Any, bool], tuple[Any, ...]]] = {
    typing.TypeVar: _typevar_reduce,
    typing.ParamSpec: _typevar_reduce,
}


def dynamic_module_reduce(module: types.ModuleType) -> tuple[Any, ...]:
    namespace = {k: v for k, v in vars(module).items() if k != "__builtins__"}
    return (_reconstruct.dynamic_module, (module.__name__, namespace))


# ----- what code needs at the receiving end ---------------------------------

#: Bytecode opcodes that name a global: opcode → right shift of the argument
#: to get the index into co_names (LOAD_GLOBAL packs a flag in bit 0). From
#: 3.12, code compiled in a class body (3.14's annotations, PEP 695 bounds)
#: reads names through LOAD_FROM_DICT_OR_GLOBALS: the class's dict, then
#: the module's globals.
GLOBAL_OPS: dict[int, int] = {
    _opcode.opmap[name]: shift
    for name, shift in (
        ("LOAD_GLOBAL", 1),
        ("STORE_GLOBAL", 0),
        ("DELETE_GLOBAL", 0),
        ("LOAD_FROM_DICT_OR_GLOBALS", 0),
    )
    if name in _opcode.opmap
}
EXTENDED_ARG: int = _opcode.opmap["EXTENDED_ARG"]


def imported_submodules(code: types.CodeType, values: list[Any]) -> list[types.ModuleType]:
    """Submodules of packages among `values` that are imported now and that
    the code reaches by attribute (``np.linalg.norm`` needs ``numpy.linalg``):
    the receiver must import them too."""
    names = set(code.co_names)
    found = []
    for value in values:
        if not isinstance(value, types.ModuleType) or not getattr(value, "__package__", None):
            continue
        prefix = value.__name__ + "."
        for name in list(sys.modules):
            if isinstance(name, str) and name.startswith(prefix):
                if set(name[len(prefix) :].split(".")) <= names:
                    found.append(sys.modules[name])
    return found


#: Builtin types with no importable name of their own (``mappingproxy``,
#: ``function``, ``code``, ...) but a name in the ``types`` module.
BUILTIN_TYPE_NAMES: dict[type, str] = {
    value: name
    for name, value in vars(types).items()
    if isinstance(value, type) and not name.startswith("_")
}
