"""Round-trip checks: does what came back equal what went in?

Each workload names one of these. They raise :class:`Mismatch` (not ``assert``,
which ``python -O`` strips) with a path to the first difference. They run once
per (workload, library) before any timing, so they favour thoroughness over
speed, except where a C-level shortcut is just as strict.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

# Leaf types of the plain-data workloads; their sharing carries no meaning.
SCALAR_TYPES: frozenset[type] = frozenset({int, float, str, bool, bytes, type(None)})

Path = tuple[object, ...]


class Mismatch(AssertionError):
    """The loaded object differs from the original."""


def format_path(path: Path) -> str:
    return "root" + "".join(f"[{step!r}]" for step in path)


def _same_scalar(expected: object, actual: object) -> bool:
    if expected == actual:
        return True
    # NaN never equals itself; two NaNs are a faithful round trip.
    return expected != expected and actual != actual


def _is_flat_scalar_sequence(expected: Sequence[object], actual: Sequence[object]) -> bool:
    """A C-speed check for long lists of scalars (W2-W4): same values, same exact types."""
    if not set(map(type, expected)) <= SCALAR_TYPES:
        return False
    if list(map(type, expected)) != list(map(type, actual)):
        return False
    return list(expected) == list(actual)


def assert_same_graph(expected: object, actual: object) -> None:
    """Plain data (dict, list, tuple, scalars): same exact types, same values, same sharing.

    Walks both graphs together without recursion (W7 is deep and cyclic). A
    container reached twice in ``expected`` must map to one container in
    ``actual``, and two distinct ones must stay distinct: that is how shared
    subtrees and cycles are checked.
    """
    copy_of: dict[int, object] = {}
    original_of: dict[int, int] = {}
    stack: list[tuple[object, object, Path]] = [(expected, actual, ())]
    while stack:
        exp, act, path = stack.pop()
        kind = type(exp)
        if kind is not type(act):
            raise Mismatch(
                f"{format_path(path)}: {kind.__name__} came back as {type(act).__name__}"
            )
        if kind in SCALAR_TYPES:
            if not _same_scalar(exp, act):
                raise Mismatch(f"{format_path(path)}: {exp!r} came back as {act!r}")
            continue
        if id(exp) in copy_of:
            if copy_of[id(exp)] is not act:
                raise Mismatch(f"{format_path(path)}: a shared {kind.__name__} was duplicated")
            continue
        if id(act) in original_of:
            raise Mismatch(f"{format_path(path)}: two distinct {kind.__name__}s were merged")
        copy_of[id(exp)] = act
        original_of[id(act)] = id(exp)
        stack.extend(_child_pairs(exp, act, path))


def _child_pairs(exp: Any, act: Any, path: Path) -> Iterator[tuple[object, object, Path]]:
    if isinstance(exp, dict):
        if list(exp) != list(act):
            raise Mismatch(f"{format_path(path)}: dict keys differ (or their order)")
        for key, value in exp.items():
            yield value, act[key], (*path, key)
    elif isinstance(exp, list | tuple):
        if len(exp) != len(act):
            raise Mismatch(f"{format_path(path)}: length {len(exp)} came back as {len(act)}")
        if _is_flat_scalar_sequence(exp, act):
            return
        for index, (left, right) in enumerate(zip(exp, act, strict=True)):
            yield left, right, (*path, index)
    else:
        raise Mismatch(f"{format_path(path)}: unexpected {type(exp).__name__} in plain data")


def assert_same_records(expected: Sequence[object], actual: Sequence[object]) -> None:
    """Instances of one class (W5, W6): same class object, equal field values."""
    if type(actual) is not type(expected) or len(actual) != len(expected):
        raise Mismatch("root: the list of records changed type or length")
    for index, (exp, act) in enumerate(zip(expected, actual, strict=True)):
        if type(act) is not type(exp):
            raise Mismatch(f"root[{index}]: {type(exp)} came back as {type(act)}")
        if exp != act:
            raise Mismatch(f"root[{index}]: {exp!r} came back as {act!r}")


def is_importable(func: Callable[..., object]) -> bool:
    """Could a receiver find ``func`` again by module and qualified name?"""
    target: object = sys.modules.get(getattr(func, "__module__", "") or "")
    for part in getattr(func, "__qualname__", "<?>").split("."):
        target = getattr(target, part, None)
    return target is func


def assert_same_function(expected: Any, actual: Any, where: str) -> None:
    """A by-value function: a new object with the same code, defaults and behaviour."""
    if actual is expected:
        raise Mismatch(f"{where}: came back as the same object, so it was not shipped by value")
    if not isinstance(actual, types.FunctionType):
        raise Mismatch(f"{where}: came back as {type(actual).__name__}, not a function")
    if actual.__qualname__ != expected.__qualname__:
        raise Mismatch(f"{where}: qualname {expected.__qualname__!r} -> {actual.__qualname__!r}")
    if actual.__code__.co_code != expected.__code__.co_code:
        raise Mismatch(f"{where}: the bytecode changed")
    if actual.__defaults__ != expected.__defaults__:
        raise Mismatch(f"{where}: defaults {expected.__defaults__} -> {actual.__defaults__}")


def assert_same_functions(expected: Sequence[Any], actual: Sequence[Any]) -> None:
    """W8: every function shipped by value and behaves like the original on probes."""
    if len(actual) != len(expected):
        raise Mismatch(f"root: {len(expected)} functions came back as {len(actual)}")
    for index, (exp, act) in enumerate(zip(expected, actual, strict=True)):
        where = f"root[{index}]"
        assert_same_function(exp, act, where)
        for probe in (3, 7.5, -2):
            if exp(probe) != act(probe):
                raise Mismatch(f"{where}: f({probe!r}) = {exp(probe)!r}, copy gives {act(probe)!r}")


def assert_same_array(expected: Any, actual: Any, where: str = "root") -> None:
    if type(actual) is not np.ndarray:
        raise Mismatch(f"{where}: ndarray came back as {type(actual).__name__}")
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        raise Mismatch(f"{where}: {expected.dtype}{expected.shape} -> {actual.dtype}{actual.shape}")
    if not np.array_equal(expected, actual):
        raise Mismatch(f"{where}: array values differ")


def assert_same_task_graph(expected: dict[Any, Any], actual: dict[Any, Any]) -> None:
    """W9: keys, task tuples, function identity (or by-value copies), arrays."""
    if list(expected) != list(actual):
        raise Mismatch("root: graph keys differ")
    copy_of: dict[int, object] = {}
    for key, (func, args, kwargs) in expected.items():
        where = f"root[{key!r}]"
        got_func, got_args, got_kwargs = actual[key]
        _check_task_function(func, got_func, copy_of, where)
        if len(got_args) != len(args):
            raise Mismatch(f"{where}: argument count changed")
        for index, (arg, got) in enumerate(zip(args, got_args, strict=True)):
            if isinstance(arg, np.ndarray):
                assert_same_array(arg, got, f"{where}[1][{index}]")
            elif type(arg) is not type(got) or arg != got:
                raise Mismatch(f"{where}[1][{index}]: {arg!r} came back as {got!r}")
        if kwargs != got_kwargs:
            raise Mismatch(f"{where}[2]: {kwargs!r} came back as {got_kwargs!r}")


def _check_task_function(
    func: Any, got: Any, copy_of: dict[int, object], where: str
) -> None:
    if is_importable(func):
        if got is not func:
            raise Mismatch(f"{where}: importable {func.__qualname__} was not sent by reference")
        return
    if id(func) in copy_of:
        # One lambda used by many tasks must come back as one function.
        if copy_of[id(func)] is not got:
            raise Mismatch(f"{where}: a shared by-value function was duplicated")
        return
    assert_same_function(func, got, where)
    copy_of[id(func)] = got


def assert_same_frame(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """W11: exact values, dtypes (category, datetime64), index and column names."""
    if type(actual) is not pd.DataFrame:
        raise Mismatch(f"root: DataFrame came back as {type(actual).__name__}")
    try:
        pd.testing.assert_frame_equal(expected, actual, check_exact=True)
    except AssertionError as error:
        raise Mismatch(f"root: {error}") from None
