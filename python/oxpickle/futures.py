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
made) is removed when the executor's thread ends, after its workers.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from concurrent.futures.process import (
    _ExecutorManagerThread,
    _ResultItem,
    _SafeQueue,
    _threads_wakeups,
    _ThreadWakeup,
)
from functools import partial
from traceback import format_exception
from typing import Any

from ._transport import segments
from ._transport.envelopes import ReplyQueue, Sealed, call_sealed, send
from .multiprocessing import get_context


def _failed_call(error: Exception, work_id: int, exit_pid: int | None) -> _ResultItem:
    return _ResultItem(work_id, exception=error, exit_pid=exit_pid)


class _Results(ReplyQueue):
    """The executor's results: one the parent cannot load becomes its call's
    error, instead of breaking the pool."""

    def routing(self, obj: Any) -> tuple[Any, tuple[int, int | None]] | None:
        if not isinstance(obj, _ResultItem):  # a worker's pid, as it exits
            return None
        return _failed_call, (obj.work_id, obj.exit_pid)


# The stdlib queues one call beyond its workers, so a worker that finishes
# waits for the executor's thread to hand it the next: small calls then run
# at the pace of thread switches. A deeper queue keeps each worker busy; a
# queued call can no longer be cancelled, as with a running one.
CALLS_QUEUED_PER_WORKER = 8


class _CoalescingWakeup(_ThreadWakeup):
    """Wakes the executor's thread once for all the submits made before it
    looks: the stdlib's writes to its pipe on every submit, and the thread
    wakes, polls and drains for each. A submit whose wakeup is skipped put
    its call in the queue before the flag is reset (after the drain), and
    the thread reads that queue after every drain."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = False

    def wakeup(self) -> None:
        if not self._pending:
            self._pending = True
            try:
                super().wakeup()
            except BaseException:
                self._pending = False  # no byte was written: the next must be
                raise

    def clear(self) -> None:
        super().clear()
        self._pending = False


class _ManagerThread(_ExecutorManagerThread):
    """The stdlib's executor thread, which takes a result that is already
    there without waiting: its wait builds a selector over the result pipe,
    the wakeup pipe and every worker's sentinel, then drains the wakeup
    pipe, for each result. A worker that died, a submit and a shutdown are
    still seen, by the full wait that follows once no result is ready."""

    def run(self) -> None:
        try:
            super().run()
        finally:
            # Every worker has been joined: what they left in shared memory
            # (a worker killed mid-task, a result never sent) goes now,
            # however the pool ended, shutdown(wait=False) included.
            for pid in self.processes.seen:
                segments.sweep(pid)

    def wait_result_broken_or_wakeup(self) -> tuple[Any, bool, list[str] | None]:
        reader = self.result_queue._reader
        if not reader.poll():
            return super().wait_result_broken_or_wakeup()
        try:
            return reader.recv(), False, None
        except BaseException as error:  # what the stdlib's wait does with it
            return None, True, format_exception(type(error), error, error.__traceback__)


def _deeper(queue: _SafeQueue, size: int, context: Any, wakeup: _ThreadWakeup) -> _SafeQueue:
    """A call queue as the stdlib's `queue`, holding `size` calls; the
    attributes it is made with differ between versions."""
    attributes = ("pending_work_items", "shutdown_lock")
    made_with = {name: getattr(queue, name) for name in attributes if hasattr(queue, name)}
    deeper = _SafeQueue(size, ctx=context, thread_wakeup=wakeup, **made_with)
    deeper._ignore_epipe = queue._ignore_epipe
    queue.close()
    return deeper


class _Processes(dict):
    """The executor's workers by pid, which remembers every pid it held:
    the stdlib adds replacements (``max_tasks_per_child``, from 3.14 a
    worker that died) from its own thread, by versions' different paths."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[int] = set()

    def __setitem__(self, pid: int, process: Any) -> None:
        super().__setitem__(pid, process)
        self.seen.add(pid)


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
        context = get_context(method)
        super().__init__(
            max_workers,
            context,
            initializer,
            initargs,
            max_tasks_per_child=max_tasks_per_child,
        )
        # Made by the stdlib's __init__, before any worker starts.
        self._processes = _Processes()
        self._result_queue.close()
        self._result_queue = _Results(ctx=context)
        self._executor_manager_thread_wakeup.close()
        self._executor_manager_thread_wakeup = _CoalescingWakeup()
        self._call_queue = _deeper(
            self._call_queue,
            self._max_workers * CALLS_QUEUED_PER_WORKER,
            context,
            self._executor_manager_thread_wakeup,
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        # Sealed here, so what cannot be pickled fails in the caller; the
        # worker opens it inside the call, so what cannot be loaded fails
        # the call.
        call = Sealed((fn, args, kwargs))
        future = send(call, partial(super().submit, call_sealed))
        if call.segments:
            # The worker removes them when it opens the call; a call never
            # opened (cancelled, its worker died, the pool broke) leaves them
            # to its future, which is done by the end of shutdown(wait=True).
            future.add_done_callback(lambda _: call.discard())
        return future

    def _start_executor_manager_thread(self) -> None:
        # The stdlib's, with the thread above.
        if self._executor_manager_thread is not None:
            return
        if not self._safe_to_dynamically_spawn_children:  # fork: start them now
            self._launch_processes()
        self._executor_manager_thread = _ManagerThread(self)
        self._executor_manager_thread.start()
        _threads_wakeups[self._executor_manager_thread] = self._executor_manager_thread_wakeup
