"""Functions that no receiver can import by name, so they must travel by value.

Each factory returns a closure (qualname ``factory.<locals>.name``) or a lambda
(qualname ``...<lambda>``). Neither can be found again through
``getattr(module, qualname)``, so cloudpickle, dill and oxpickle ship their code,
defaults and closure cells; the standard library's pickle refuses them.

Every function takes one number and returns a comparable value, which is how the
workload checks a round trip: call the original and the copy on the same probe.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

NumberFn = Callable[[float], object]


def make_scaler(factor: float, offset: int) -> NumberFn:
    def scale(x: float) -> float:
        return x * factor + offset

    return scale


def make_formatter(prefix: str, width: int, suffixes: tuple[str, ...]) -> NumberFn:
    def describe(x: float) -> str:
        return f"{prefix}{x:>{width}}{suffixes[int(x) % len(suffixes)]}"

    return describe


def make_distance(origin: tuple[float, float]) -> NumberFn:
    # Reaches a module global (math), so the copy needs that global shipped too.
    def distance(x: float) -> float:
        return math.hypot(x - origin[0], origin[1])

    return distance


def make_composed(outer: NumberFn, inner: NumberFn) -> NumberFn:
    # A closure over two other by-value functions: the pickler recurses into them.
    return lambda x: outer(inner(x))


def make_polynomial(k: int) -> NumberFn:
    # A lambda with a default argument and no closure cell.
    return lambda x, k=k: x * x + k


def distinct_functions(count: int, seed: int) -> list[NumberFn]:
    """``count`` distinct function objects, a seeded mix of the kinds above."""
    rng = random.Random(seed)
    functions: list[NumberFn] = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            functions.append(make_scaler(rng.uniform(-4.0, 4.0), rng.randrange(100)))
        elif kind == 1:
            suffixes = tuple(rng.choice(["px", "em", "%", "pt"]) for _ in range(3))
            functions.append(make_formatter(f"item{i}:", rng.randrange(4, 12), suffixes))
        elif kind == 2:
            functions.append(make_distance((rng.uniform(-9, 9), rng.uniform(-9, 9))))
        elif kind == 3:
            functions.append(make_polynomial(rng.randrange(1000)))
        else:
            inner = make_scaler(rng.uniform(0.5, 2.0), i)
            functions.append(make_composed(make_polynomial(i), inner))
    return functions
