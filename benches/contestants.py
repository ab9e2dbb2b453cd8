"""What takes part in a round: a library, the cross-load row, or a copy reference.

A contestant is prepared once per workload (the correctness check, which is
also the untimed warmup), then asked for one sample per operation in every
timed round, then measured for memory. Its :class:`Outcome` collects all of it.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import oxpickle

from benches.checks import Mismatch
from benches.libraries import PROTOCOL, Library
from benches.memory import rss_growth_at_peak, traced_peak
from benches.outcome import FAILED, NOT_APPLICABLE, OK, Outcome
from benches.timing import COLLECTOR_OFF, timed_call
from benches.workloads import Workload


class Contestant:
    """Base: subclasses fill in ``prepare`` and ``run_round``."""

    outcome: Outcome

    @property
    def active(self) -> bool:
        return self.outcome.status == OK

    def prepare(self, obj: Any) -> None:
        """Check the round trip once, under timing conditions: this is the warmup."""
        raise NotImplementedError

    def run_round(self, obj: Any) -> None:
        raise NotImplementedError

    def measure_memory(self, obj: Any) -> None:
        """tracemalloc's peak of one dumps; most contestants have no dumps of their own."""

    def release(self) -> None:
        """Drop anything kept between rounds."""

    def fail(self, status: str, note: str) -> None:
        self.outcome.status = status
        self.outcome.note = note


class LibraryContestant(Contestant):
    """dumps then loads of the library's own output, one of each per round."""

    def __init__(self, library: Library, workload: Workload) -> None:
        self.library = library
        self.workload = workload
        self.loads = library.make_loads(workload)
        self.outcome = Outcome(label=library.name, library=library.name)
        reason = library.unsupported_reason(workload)
        if reason:
            self.fail(NOT_APPLICABLE, reason)

    def _dumps_call(self, obj: Any, buffers: list[Any] | None) -> Callable[[], bytes]:
        if buffers is None:
            return functools.partial(self.library.dumps, obj)
        return functools.partial(self.library.dumps, obj, buffer_callback=buffers.append)

    def _loads_call(self, stream: bytes, buffers: list[Any] | None) -> Callable[[], Any]:
        if buffers is None:
            return functools.partial(self.loads, stream)
        return functools.partial(self.loads, stream, buffers=buffers)

    def _new_buffers(self) -> list[Any] | None:
        return [] if self.workload.out_of_band else None

    def prepare(self, obj: Any) -> None:
        buffers = self._new_buffers()
        try:
            # The first dumps after the build, with the allocators trimmed, is the
            # one whose RSS growth is least hidden by memory freed earlier.
            rss_peak, stream = rss_growth_at_peak(self._dumps_call(obj, buffers))
            _, loaded = timed_call(self._loads_call(stream, buffers))
            self.workload.check(obj, loaded)
        except Mismatch as error:
            self.fail(FAILED, f"round trip differs: {error}")
            return
        except Exception as error:  # any library error is a result to report
            self.fail(FAILED, f"{type(error).__name__}: {error}")
            return
        if buffers is not None and not buffers:
            self.fail(NOT_APPLICABLE, "ignored buffer_callback: pickled the array in band")
            return
        self.outcome.size_bytes = len(stream)
        self.outcome.rss_peak_bytes = rss_peak
        if buffers is not None:
            self.outcome.out_of_band_bytes = sum(memoryview(b).nbytes for b in buffers)

    def run_round(self, obj: Any) -> None:
        for collector_off in (False, True):
            suffix = COLLECTOR_OFF if collector_off else ""
            buffers = self._new_buffers()
            dumps_ns, stream = timed_call(self._dumps_call(obj, buffers), collector_off)
            loads_ns, loaded = timed_call(self._loads_call(stream, buffers), collector_off)
            del loaded, stream  # freed here, outside the clock
            self.outcome.add_sample("dumps" + suffix, dumps_ns)
            self.outcome.add_sample("loads" + suffix, loads_ns)

    def measure_memory(self, obj: Any) -> None:
        self.outcome.traced_peak_bytes = traced_peak(self._dumps_call(obj, self._new_buffers()))


class CrossLoadContestant(Contestant):
    """oxpickle.loads of the stream the C pickle wrote: interop at full speed."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.stream: bytes | None = None
        self.outcome = Outcome(label="oxpickle ← pickle's stream", library="oxpickle")

    def prepare(self, obj: Any) -> None:
        try:
            self.stream = pickle.dumps(obj, protocol=PROTOCOL)
            _, loaded = timed_call(functools.partial(oxpickle.loads, self.stream))
            self.workload.check(obj, loaded)
        except Exception as error:  # any library error is a result to report
            self.fail(FAILED, f"{type(error).__name__}: {error}")
            return
        self.outcome.size_bytes = len(self.stream)

    def run_round(self, obj: Any) -> None:
        for collector_off in (False, True):
            load = functools.partial(oxpickle.loads, self.stream)
            loads_ns, loaded = timed_call(load, collector_off)
            del loaded
            self.outcome.add_sample("loads" + (COLLECTOR_OFF if collector_off else ""), loads_ns)

    def release(self) -> None:
        self.stream = None


class FreshCopyReference(Contestant):
    """``a.copy()``: allocate and fill a new array (page faults included)."""

    def __init__(self) -> None:
        self.outcome = Outcome(label="reference: a.copy()", library="reference")

    def prepare(self, obj: Any) -> None:
        timed_call(obj.copy)

    def run_round(self, obj: Any) -> None:
        elapsed, copy = timed_call(obj.copy)
        del copy
        self.outcome.add_sample("copy", elapsed)


class WarmCopyReference(Contestant):
    """``np.copyto(dst, a)`` into memory already faulted in: the memcpy floor."""

    def __init__(self) -> None:
        self.target: np.ndarray | None = None
        self.outcome = Outcome(label="reference: copy into warm memory", library="reference")

    def prepare(self, obj: Any) -> None:
        self.target = np.empty_like(obj)
        timed_call(functools.partial(np.copyto, self.target, obj))  # faults the pages in

    def run_round(self, obj: Any) -> None:
        elapsed, _ = timed_call(functools.partial(np.copyto, self.target, obj))
        self.outcome.add_sample("copy", elapsed)

    def release(self) -> None:
        self.target = None


def contestants_for(workload: Workload, libraries: list[Library]) -> list[Contestant]:
    """Table order: each library, then the cross-load row, then references."""
    contestants: list[Contestant] = [LibraryContestant(lib, workload) for lib in libraries]
    if workload.cross_load and any(lib.name == "oxpickle" for lib in libraries):
        contestants.append(CrossLoadContestant(workload))
    if workload.copy_reference:
        contestants += [FreshCopyReference(), WarmCopyReference()]
    return contestants
