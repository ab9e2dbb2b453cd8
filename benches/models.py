"""Classes and functions the workloads pickle *by reference*.

Everything here lives at module level of an importable module, so every pickler
writes a global name (``benches.models Record``) instead of shipping code.
Functions that must travel by value are made in ``benches.byvalue``.
"""

from __future__ import annotations

from dataclasses import dataclass


class Record:
    """A plain class with five attributes, stored in its instance ``__dict__``."""

    def __init__(self, ident: int, score: float, label: str, active: bool, parent: int | None):
        self.ident = ident
        self.score = score
        self.label = label
        self.active = active
        self.parent = parent

    def __eq__(self, other: object) -> bool:
        return type(other) is Record and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value


@dataclass
class DataRecord:
    """The same five fields as a regular dataclass (state in ``__dict__``)."""

    ident: int
    score: float
    label: str
    active: bool
    parent: int | None


@dataclass(slots=True)
class SlotRecord:
    """The same five fields with ``__slots__`` (state via ``__getstate__``)."""

    ident: int
    score: float
    label: str
    active: bool
    parent: int | None


# --- importable task functions for the Dask-like graph (W9) -------------------


def inc(x: float, step: float = 1.0) -> float:
    return x + step


def combine(*parts: float, scale: float = 1.0) -> float:
    return sum(parts) * scale


def weighted_mean(values: object, weights: object = None) -> float:
    import numpy as np

    return float(np.average(values, weights=weights))
