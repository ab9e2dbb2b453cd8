"""One timed call, under the same conditions for every library."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed_call(call: Callable[[], T]) -> tuple[int, T]:
    """Run ``call()`` once; return (elapsed nanoseconds, its result).

    Garbage is collected first and the collector is off during the call, so a
    collection triggered by an earlier library's garbage is never billed to the
    next one. Freeing the result happens after the clock stops: deallocation
    is the caller's cost, not the serializer's.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        result = call()
        elapsed = time.perf_counter_ns() - start
    finally:
        if was_enabled:
            gc.enable()
    return elapsed, result


def median_ns(samples: list[int]) -> float:
    return float(statistics.median(samples))
