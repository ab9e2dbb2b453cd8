"""Peak memory of one call: Python-level allocations and resident set growth.

Two numbers, because neither is enough alone:

* ``traced``: the peak of ``tracemalloc`` above its level before the call. It
  sees every allocation made through CPython's allocators (objects, the output
  ``bytes``) but nothing a Rust extension allocates with the system allocator,
  so for oxpickle it shows little more than the output itself.
* ``rss``: the growth of the process's resident set at its peak. Linux keeps the
  high-water mark in ``VmHWM`` (/proc/self/status) and resets it to the current
  RSS when "5" is written to /proc/self/clear_refs, so we read the exact
  kernel-tracked peak, with no sampling thread that the GIL could starve. It
  sees Rust's buffers too. It is a lower bound: memory the allocators already
  hold from earlier calls is reused without growing the RSS, which we reduce by
  collecting garbage and calling ``malloc_trim(0)`` first.

Each number comes from its own untimed call: tracemalloc slows allocation down
and its own bookkeeping would inflate the RSS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gc
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_STATUS = Path("/proc/self/status")


def status_kib(field: str, pid: int | str = "self") -> int:
    """A field of /proc/<pid>/status, in KiB (VmRSS, VmHWM, RssAnon, ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _load_libc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_libc_trim()


def _release_free_memory() -> None:
    """Give back what the allocators hold, so the next peak starts from a low RSS."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def reset_rss_peak(pid: int | str = "self") -> bool:
    """Sets process `pid`'s VmHWM back to its current RSS; False where the
    kernel does not allow it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_peak_supported() -> bool:
    return _STATUS.exists() and reset_rss_peak()


def rss_growth_at_peak(call: Callable[[], T]) -> tuple[int | None, T]:
    """``call()``'s result, and how many bytes the RSS grew by at its highest point."""
    _release_free_memory()
    if not reset_rss_peak():
        return None, call()
    before = status_kib("VmRSS")
    result = call()
    peak = status_kib("VmHWM")
    return max(0, peak - before) * 1024, result


def traced_peak(call: Callable[[], object]) -> int:
    """Peak bytes allocated through CPython's allocators during ``call()``."""
    _release_free_memory()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return max(0, peak - before)


class AnonSampler:
    """The highest RssAnon of `pid` while it runs, sampled."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.base = status_kib("RssAnon", pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, status_kib("RssAnon", self.pid))
            time.sleep(0.002)

    def __enter__(self) -> AnonSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.base) * 1024


def mb_text(values: list[int]) -> str:
    return f"{statistics.median(values) / 1e6:.0f} MB" if values else "not sampled"


def time_text(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


@dataclasses.dataclass
class SystemSamples:
    """One contestant's samples on one row of a benchmark of whole systems:
    wall times, and the peak growths of the parent's and the busiest
    worker's memory, one per round."""

    seconds: list[float] = dataclasses.field(default_factory=list)
    parent_peak: list[int] = dataclasses.field(default_factory=list)
    worker_peak: list[int] = dataclasses.field(default_factory=list)
    worker_private: list[int] = dataclasses.field(default_factory=list)
