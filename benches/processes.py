"""The processes benchmark: ``python -m benches.processes [--quick]``.

Warm process pools, side by side in one process, with the collector as
the program has it (on): oxpickle's ProcessPoolExecutor against the
stdlib's (spawn and fork), loky with cloudpickle and loky with
``LOKY_PICKLER=oxpickle``. Each round runs every pool once, in rotating
order; a cell is the median wall time. Memory is measured per round: the
parent's and the worker's peak RSS growth (VmHWM, reset through
/proc/<pid>/clear_refs), and the worker's peak growth of anonymous memory
(RssAnon, sampled every 2 ms, on the rows that move big arrays), which is
its private copies: pages of shared memory it reads count in its RSS but
not there.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import importlib.metadata
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import loky
import numpy as np
import oxpickle.multiprocessing as oxmp
from oxpickle import shared
from oxpickle.futures import ProcessPoolExecutor

from benches import cli
from benches.memory import (
    AnonSampler,
    SystemSamples,
    mb_text,
    reset_rss_peak,
    status_kib,
    time_text,
)

OUT = Path(__file__).resolve().parent / "processes_results.md"
WAIT = 600


def identity(value: Any) -> Any:
    return value


@dataclasses.dataclass
class Pool:
    """A warm pool and what it can send."""

    name: str
    executor: Any
    sends_lambdas: bool
    # Set around its rounds: loky's pickler is a global of the parent.
    before_round: Callable[[], None] = lambda: None
    ours: bool = False  # an oxpickle pool, which takes shared memory

    def worker_pids(self) -> list[int]:
        return list(self.executor._processes)


class PoolAsExecutor:
    """``oxpickle.multiprocessing.Pool`` behind the executor calls used here."""

    class _Future:
        def __init__(self, pending: Any) -> None:
            self._pending = pending

        def result(self, timeout: float) -> Any:
            return self._pending.get(timeout)

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @property
    def _processes(self) -> list[int]:
        return [worker.pid for worker in self._pool._pool]

    def submit(self, function: Callable[..., Any], *args: Any) -> _Future:
        return self._Future(self._pool.apply_async(function, args))

    def shutdown(self, wait: bool) -> None:
        self._pool.close()
        self._pool.join()


def _loky(pickler: str) -> Pool:
    previous = os.environ.get("LOKY_PICKLER")
    os.environ["LOKY_PICKLER"] = pickler  # what the workers read at start
    try:
        executor = loky.ProcessPoolExecutor(max_workers=1)
        executor.submit(identity, 0).result(WAIT)
    finally:
        if previous is None:
            os.environ.pop("LOKY_PICKLER")
        else:
            os.environ["LOKY_PICKLER"] = previous
    return Pool(f"loky + {pickler}", executor, True, lambda: loky.set_loky_pickler(pickler))


def make_pools() -> list[Pool]:
    stdlib = concurrent.futures.ProcessPoolExecutor
    pools = [
        Pool(
            "oxpickle executor",
            ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")),
            True,
            ours=True,
        ),
        Pool(
            "oxpickle Pool",
            PoolAsExecutor(oxmp.get_context("spawn").Pool(1)),
            True,
            ours=True,
        ),
        Pool("stdlib spawn", stdlib(1, mp_context=multiprocessing.get_context("spawn")), False),
        Pool("stdlib fork", stdlib(1, mp_context=multiprocessing.get_context("fork")), False),
        _loky("cloudpickle"),
        _loky("oxpickle"),
    ]
    for pool in pools:
        pool.before_round()
        pool.executor.submit(identity, 0).result(WAIT)  # starts the worker
    return pools


@dataclasses.dataclass
class Row:
    id: str
    title: str
    # (pool, inputs) → what one run of the row's work returns
    run: Callable[[Pool, dict[str, Any]], Any]
    # (result, inputs) → whether the run was right
    check: Callable[[Any, dict[str, Any]], bool]
    needs_lambdas: bool
    reference: str  # the pool the speedup column divides by
    rounds: int = 5
    # The row whose reference cell it divides by, if not its own: the
    # peers have no shared memory, so P2 compares with their P1.
    reference_row: str | None = None
    oxpickle_only: bool = False
    # The sampler's thread takes the GIL every few ms: not on rows that
    # time the parent's own threads, where no large copy can arise.
    samples_private_memory: bool = True

    @property
    def reference_label(self) -> str:
        return self.reference + (f" ({self.reference_row})" if self.reference_row else "")


def _round_trip(pool: Pool, array: Any) -> Any:
    return pool.executor.submit(identity, array).result(WAIT)


def _lambda_over(pool: Pool, array: Any) -> Any:
    return pool.executor.submit(lambda a: float(a.sum()), array).result(WAIT)


def _small_tasks(pool: Pool, count: int) -> Any:
    futures = [pool.executor.submit(lambda x: x + 1, i) for i in range(count)]
    return sum(future.result(WAIT) for future in futures)


@dataclasses.dataclass
class Cell(SystemSamples):
    refused: str | None = None


def measure(pool: Pool, call: Callable[[], Any], cell: Cell, sample: bool) -> Any:
    (worker,) = pool.worker_pids()
    reset_rss_peak()
    reset_rss_peak(worker)
    parent_before, worker_before = status_kib("VmRSS"), status_kib("VmRSS", worker)
    sampler = AnonSampler(worker) if sample else None
    with sampler or contextlib.nullcontext():
        start = time.perf_counter()
        result = call()
        cell.seconds.append(time.perf_counter() - start)
    cell.parent_peak.append(max(0, status_kib("VmHWM") - parent_before) * 1024)
    cell.worker_peak.append(max(0, status_kib("VmHWM", worker) - worker_before) * 1024)
    if sampler is not None:
        cell.worker_private.append(sampler.growth)
    return result


def rows_for(scale: float) -> tuple[list[Row], dict[str, Any]]:
    items = int(50_000_000 * scale)  # 400 MB of float64 at full size
    tasks = int(10_000 * scale)
    array = np.random.default_rng(0).random(items)
    inputs = {
        "array": array,
        "shared": shared.copy(array, share=True),
        "tasks": tasks,
    }
    mb = f"{array.nbytes / 1e6:.0f} MB"
    rows = [
        _round_trip_row("P1", f"{mb} float64 argument and result, copied in", "array"),
        _round_trip_row(
            "P2",
            f"{mb} argument and result already in shared memory (oxpickle.shared.copy(share=True))",
            "shared",
            reference_row="P1",
            oxpickle_only=True,
        ),
        Row(
            "P3",
            f"a lambda over the {mb} array (its sum)",
            lambda p, i: _lambda_over(p, i["array"]),
            lambda r, i: abs(r - i["array"].sum()) <= 1e-6 * abs(r),
            needs_lambdas=True,
            reference="loky + cloudpickle",
        ),
        Row(
            "P4",
            f"{tasks:,} small tasks, each a lambda",
            lambda p, i: _small_tasks(p, i["tasks"]),
            lambda r, i: r == sum(range(1, i["tasks"] + 1)),
            needs_lambdas=True,
            reference="loky + cloudpickle",
            samples_private_memory=False,
        ),
    ]
    return rows, inputs


def _round_trip_row(id: str, title: str, argument: str, **options: Any) -> Row:
    """A row that sends inputs[argument] to the worker and back."""
    return Row(
        id,
        title,
        lambda p, i: _round_trip(p, i[argument]),
        lambda r, i: _same_array(r, i[argument]),
        needs_lambdas=False,
        reference="stdlib spawn",
        **options,
    )


def _same_array(result: Any, source: Any) -> bool:
    return result.shape == source.shape and result[0] == source[0] and result[-1] == source[-1]


def run(
    scale: float, rounds: int | None
) -> tuple[list[Row], list[Pool], dict[tuple[str, str], Cell]]:
    pools = make_pools()
    rows, inputs = rows_for(scale)
    if rounds is not None:
        rows = [dataclasses.replace(row, rounds=rounds) for row in rows]
    cells: dict[tuple[str, str], Cell] = {}
    try:
        for row in rows:
            order = [pool for pool in pools if pool.ours or not row.oxpickle_only]
            for pool in order:
                cell = cells[row.id, pool.name] = Cell()
                if row.needs_lambdas and not pool.sends_lambdas:
                    cell.refused = "refuses a lambda"
            live = [pool for pool in order if cells[row.id, pool.name].refused is None]
            for turn in range(row.rounds):
                for pool in live[turn % len(live) :] + live[: turn % len(live)]:
                    pool.before_round()
                    work = functools.partial(row.run, pool, inputs)
                    cell = cells[row.id, pool.name]
                    result = measure(pool, work, cell, row.samples_private_memory)
                    if not row.check(result, inputs):
                        raise AssertionError(f"{row.id}: {pool.name} returned a wrong result")
                    del result
            print(f"{row.id}: done", file=sys.stderr)
    finally:
        for pool in pools:
            pool.executor.shutdown(wait=True)
    return rows, pools, cells


def render(
    rows: list[Row], pools: list[Pool], cells: dict[tuple[str, str], Cell], scale: float
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Process pools: oxpickle against the stdlib and loky",
        "",
        "<!-- generated by `make bench` (python -m benches.processes); do not edit -->",
        "",
        f"Measured {now}, CPython {sys.version.split()[0]}, "
        f"oxpickle {importlib.metadata.version('oxpickle')}, "
        f"loky {loky.__version__}, numpy {np.__version__}; sizes × {scale:g}; one worker per pool, "
        "warm; collector on. Method: `benches/processes.py`.",
        "",
    ]
    for row in rows:
        lines += [
            f"**{row.id} · {row.title}**, median of {row.rounds} rounds",
            "",
            f"| pool | wall time | speedup vs {row.reference_label} | parent peak RSS growth "
            "| worker peak RSS growth | worker private memory growth |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        reference = cells.get((row.reference_row or row.id, row.reference))
        for pool in pools:
            cell = cells.get((row.id, pool.name))
            if cell is None:
                continue
            if cell.refused:
                lines.append(f"| {pool.name} | {cell.refused} | | | | |")
                continue
            median = statistics.median(cell.seconds)
            speedup = (
                f"{statistics.median(reference.seconds) / median:.2f}×"
                if reference and reference.seconds
                else "—"
            )
            lines.append(
                f"| {pool.name} | {time_text(median)} | {speedup} | {mb_text(cell.parent_peak)} "
                f"| {mb_text(cell.worker_peak)} | {mb_text(cell.worker_private)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = cli.parser("python -m benches.processes", __doc__, OUT, "5").parse_args(argv)
    if not cli.reads_proc("processes"):
        return 2
    scale = cli.scale(args)
    rows, pools, cells = run(scale, args.rounds)
    cli.publish(render(rows, pools, cells, scale), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
