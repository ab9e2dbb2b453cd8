"""``oxpickle.futures.ProcessPoolExecutor``: concurrent.futures' executor,
with calls, results and exceptions pickled by oxpickle.

Its signature is the stdlib's (``max_workers``, ``mp_context``,
``initializer``, ``initargs``, ``max_tasks_per_child``); an ``mp_context``
from the stdlib is replaced by oxpickle's context of the same start method.
Lambdas, closures and ``__main__`` classes travel as functions, arguments
and results; buffers of 1 MiB or more go through shared memory. An
exception comes back as the stdlib's does, with the worker's traceback as
its ``__cause__``.

What workers leave in shared memory (a worker killed mid-task, a call never
made) is removed when the executor shuts down.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from . import _segments
from ._transport import Envelope
from .multiprocessing import get_context


class _Call(Envelope):
    """A call's function and arguments; remembers the transient segments
    its stream made, so they can be removed if the call is never made."""

    __slots__ = ("segments",)

    def __init__(self, obj: Any) -> None:
        super().__init__(obj)
        self.segments: list[str] = []

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        opener, (stream, descriptors) = super().__reduce__()
        self.segments = [name for name, _, _, transient, _, _ in descriptors if transient]
        return opener, (stream, descriptors)


def _run(call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]) -> Envelope:
    fn, args, kwargs = call
    return Envelope(fn(*args, **kwargs))


class ProcessPoolExecutor(concurrent.futures.ProcessPoolExecutor):
    def __init__(
        self,
        max_workers: int | None = None,
        mp_context: Any = None,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        max_tasks_per_child: int | None = None,
    ) -> None:
        method = mp_context.get_start_method() if mp_context is not None else None
        if max_tasks_per_child is not None and method is None:
            # The stdlib's rule: a worker that exits needs spawn by default.
            method = "spawn"
        self._worker_pids: set[int] = set()
        self._calls: set[_Call] = set()
        self._calls_lock = threading.Lock()
        super().__init__(
            max_workers,
            get_context(method),
            initializer,
            initargs,
            max_tasks_per_child=max_tasks_per_child,
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        call = _Call((fn, args, kwargs))
        with self._calls_lock:
            self._calls.add(call)
        future = super().submit(_run, call)
        future.add_done_callback(lambda _: self._forget(call))
        return future

    def _forget(self, call: _Call) -> None:
        with self._calls_lock:
            self._calls.discard(call)
        # The worker removed them when it opened the call; a call never
        # opened (cancelled, or its worker died) leaves them here.
        for name in call.segments:
            _segments.remove(name)

    def _spawn_process(self) -> None:
        before = set(self._processes)
        super()._spawn_process()
        self._worker_pids.update(set(self._processes) - before)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if not wait:
            return
        with self._calls_lock:
            calls, self._calls = list(self._calls), set()
        for call in calls:
            for name in call.segments:
                _segments.remove(name)
        for pid in self._worker_pids:
            _segments.sweep(pid)
