"""``oxpickle.joblib``: a joblib backend on ``oxpickle.futures``.

    import oxpickle.joblib
    with joblib.parallel_config(backend="oxpickle", n_jobs=4):
        joblib.Parallel()(joblib.delayed(f)(array) for array in arrays)

Calls are pickled by oxpickle (lambdas, closures and ``__main__`` classes
travel by value), and a buffer of 1 MiB or more goes through shared
memory, both ways, instead of joblib's memory-mapped files on disk: a
worker gets a writable array of its own (copy-on-write), and an array made
with ``oxpickle.shared`` travels by reference. Importing this module
registers the backend.

Its workers are kept for the next ``Parallel`` call with the same number of
jobs, as loky's are, and stop when the program exits. After a call fails,
the calls still queued are cancelled, and the running ones finish in the
background.
"""

from __future__ import annotations

from typing import Any

import joblib
from joblib._parallel_backends import (
    AutoBatchingMixin,
    FallbackToBackend,
    LokyBackend,
    ParallelBackendBase,
    SequentialBackend,
)

from .futures import ProcessPoolExecutor

BACKEND_NAME = "oxpickle"

_executors: dict[int, ProcessPoolExecutor] = {}


def _executor(n_jobs: int) -> ProcessPoolExecutor:
    """The executor of `n_jobs` workers that calls share; one that can take
    no more calls (a worker died, or a call failed and it was shut down) is
    replaced."""
    executor = _executors.get(n_jobs)
    if executor is None or executor._broken or executor._shutdown_thread:
        executor = _executors[n_jobs] = ProcessPoolExecutor(n_jobs)
    return executor


class OxpickleBackend(AutoBatchingMixin, ParallelBackendBase):
    """A process backend as loky's is (auto-batching, job counting), on
    oxpickle's executor. Not a LokyBackend subclass: joblib gives those
    the memory-mapping folder manager that loky's executor has."""

    supports_retrieve_callback = True
    # Where processes cannot start more processes (a daemon, a thread
    # below the main one), loky's rules fall back to one job: so do these.
    effective_n_jobs = LokyBackend.effective_n_jobs

    def configure(
        self,
        n_jobs: int = 1,
        parallel: Any = None,
        prefer: Any = None,
        require: Any = None,
        **unused: Any,
    ) -> int:
        n_jobs = self.effective_n_jobs(n_jobs)
        if n_jobs == 1:
            raise FallbackToBackend(SequentialBackend(nesting_level=self.nesting_level))
        self._workers = _executor(n_jobs)
        self.parallel = parallel
        return n_jobs

    def submit(self, func: Any, callback: Any = None) -> Any:
        future = self._workers.submit(func)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, future: Any) -> Any:
        return future.result()

    def terminate(self) -> None:
        # The workers stay for the next call; only this call's state goes.
        self._workers = None
        self.reset_batch_stats()

    def abort_everything(self, ensure_ready: bool = True) -> None:
        executor, self._workers = self._workers, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if ensure_ready:
            self.configure(n_jobs=self.parallel.n_jobs, parallel=self.parallel)


joblib.register_parallel_backend(BACKEND_NAME, OxpickleBackend)
