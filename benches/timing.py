"""One timed call, under the same conditions for every library."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


# Every dumps and loads is timed twice: with the collector as the program has
# it (on, unless the program turned it off), which is how users run, and
# with it disabled for the call, which isolates the library's own work.
COLLECTOR_OFF = ", collector off"


def timed_call(call: Callable[[], T], collector_off: bool = False) -> tuple[int, T]:
    """Run ``call()`` once; return (elapsed nanoseconds, its result).

    Garbage is collected first, so a collection owed to an earlier library's
    garbage is never billed to the next one. The collections the call itself
    triggers (on the objects it makes) are billed to it, as in a user's
    program, unless ``collector_off`` disables the collector for the call.
    Freeing the result happens after the clock stops: deallocation is the
    caller's cost, not the serializer's.
    """
    gc.collect()
    disable = collector_off and gc.isenabled()
    if disable:
        gc.disable()
    try:
        start = time.perf_counter_ns()
        result = call()
        elapsed = time.perf_counter_ns() - start
    finally:
        if disable:
            gc.enable()
    return elapsed, result


def median_ns(samples: list[int]) -> float:
    return float(statistics.median(samples))
