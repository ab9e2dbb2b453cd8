"""Dask and joblib, stock against oxpickle: ``python -m benches.clusters [--quick]``.

Everything runs as a user's script does, in ``__main__``: its lambdas,
closures and classes exist only here, so they travel by value.

Dask: two real clusters side by side, each a scheduler and two one-thread
workers in processes of their own (distributed's ``SubprocessCluster``,
Dask's default configuration otherwise). One is stock; the other has
``oxpickle.dask`` preloaded in its scheduler and workers. This process is
the client of both and pickles as the cluster it talks to does
(``install_here``/``uninstall_here`` before each round).

joblib: its default backend (loky, which memory-maps large arrays into
files) against ``backend="oxpickle"``, two workers each.

Rounds alternate between the two sides, the collector as the program has it
(on); a cell is the median. Measured in each round: the wall time; in the
client, the time spent in distributed's pickle ``dumps`` and the bytes it
wrote in band (the stream) and out of band (PEP 574 buffers); the peak RSS
growth of the client and of the busiest worker (VmHWM, reset first); and on
the rows that move big arrays, the busiest worker's growth of private memory
(RssAnon, sampled), which is its own copies of what it was sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib.metadata
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import distributed
import distributed.protocol.pickle
import joblib
import numpy as np
import oxpickle.dask
import oxpickle.joblib
from distributed.deploy.subprocess import SubprocessCluster
from joblib.externals.loky import reusable_executor

from benches import cli, memory
from benches.memory import AnonSampler, SystemSamples, mb_text, time_text

OUT = Path(__file__).resolve().parent / "clusters_results.md"
WAIT = 900
WORKERS = 2
STOCK_DASK, OXPICKLE_DASK = "Dask, stock", "Dask + oxpickle.dask"
JOBLIB_DEFAULT, JOBLIB_OXPICKLE = "joblib default (loky)", 'joblib backend="oxpickle"'


class Holder:
    """PEP 574's example: a user's object with a large array in an attribute."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def scaled_by(factor: int) -> Callable[[int], int]:
    return lambda x: factor * x


# --- the two sides ---------------------------------------------------------


@dataclasses.dataclass
class Side:
    """One contestant: a Dask cluster and its client, or a joblib backend."""

    name: str
    ours: bool
    worker_pids: Callable[[], list[int]]
    client: distributed.Client | None = None
    backend: str | None = None
    close: Callable[[], None] = lambda: None

    def enter(self) -> None:
        """Before each round: this process pickles as the side does, and a
        joblib side's workers are up (loky stops idle ones after 300 s)."""
        if self.client is None:
            run_joblib(self, float, [0] * WORKERS)
            return
        if self.ours:
            oxpickle.dask.install_here()
        else:
            oxpickle.dask.uninstall_here()


def dask_side(ours: bool) -> Side:
    preload = ["oxpickle.dask"] if ours else []
    cluster = SubprocessCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        # No nanny: the cluster's close kills its processes' children, the
        # nanny's resource tracker among them, which would leave the
        # nanny's semaphores behind.
        worker_class="distributed.Worker",
        dashboard_address=None,
        silence_logs=logging.ERROR,
        scheduler_kwargs={"preload": preload},
        worker_kwargs={"preload": preload},
    )
    client = distributed.Client(cluster)
    client.wait_for_workers(WORKERS, timeout=WAIT)

    def close() -> None:
        client.close()
        cluster.close()

    side = Side(
        OXPICKLE_DASK if ours else STOCK_DASK,
        ours,
        lambda: list(client.run(os.getpid).values()),
        client=client,
        close=close,
    )
    side.enter()
    if client.run(oxpickle.dask.installed_here) != dict.fromkeys(client.run(os.getpid), ours):
        raise RuntimeError(f"{side.name}: the workers' pickler is not the expected one")
    client.gather(client.map(lambda x: x, range(10)))  # warm: functions loaded
    return side


def _joblib_worker_pids(backend: str) -> list[int]:
    if backend == "oxpickle":
        executor = oxpickle.joblib._executors[WORKERS]
    else:
        executor = reusable_executor._executor
    return [process.pid for process in executor._processes.values()]


def joblib_side(backend: str) -> Side:
    side = Side(
        JOBLIB_OXPICKLE if backend == "oxpickle" else JOBLIB_DEFAULT,
        backend == "oxpickle",
        lambda: _joblib_worker_pids(backend),
        backend=backend,
    )
    warm = np.ones(1_000_000)  # above joblib's memory-mapping threshold
    run_joblib(side, lambda a: float(a.sum()), [warm] * WORKERS)
    return side


def run_joblib(side: Side, function: Callable[[Any], Any], arrays: list[Any]) -> list[Any]:
    with joblib.parallel_config(backend=side.backend, n_jobs=WORKERS):
        return joblib.Parallel()(joblib.delayed(function)(array) for array in arrays)


# --- what distributed pickles in the client ---------------------------------


@dataclasses.dataclass
class PickleMeter:
    """Wraps distributed's pickle ``dumps`` (the one its serialization calls,
    through the module) while a round runs: time spent, bytes written."""

    seconds: float = 0.0
    in_band: int = 0
    out_of_band: int = 0

    @contextlib.contextmanager
    def metering(self) -> Iterator[None]:
        module = distributed.protocol.pickle
        dumps = module.dumps

        def metered(obj: Any, *args: Any, buffer_callback: Any = None, **kwargs: Any) -> bytes:
            def counted(buffer: Any) -> None:
                self.out_of_band += memoryview(buffer).nbytes
                buffer_callback(buffer)

            callback = None if buffer_callback is None else counted
            start = time.perf_counter()
            stream = dumps(obj, *args, buffer_callback=callback, **kwargs)
            self.seconds += time.perf_counter() - start
            self.in_band += len(stream)
            return stream

        module.dumps = metered
        try:
            yield
        finally:
            module.dumps = dumps


# --- rows -------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    id: str
    title: str
    family: str  # "dask" or "joblib": which sides run it
    run: Callable[[Side, dict[str, Any]], Any]
    check: Callable[[Any, dict[str, Any]], bool]
    rounds: int = 3
    samples_private_memory: bool = False


def graph(tasks: int, round_: int) -> tuple[dict, list]:
    """A graph of `tasks` tasks as a user's loop builds one: one lambda
    applied to each input, a closure made for each of its results (as
    ``delayed(scaled_by(i))(x)`` in the loop makes one), and sums over
    groups of 500. Keys are new in each round, so nothing is reused from the
    round before."""
    group = 500
    sums = max(1, tasks // 2 // group)
    leaves = (tasks - sums) // 2
    middles = tasks - sums - leaves
    increment = lambda i: i + 1  # noqa: E731 - the user's lambda
    total = lambda *values: sum(values)  # noqa: E731
    a, b, c = (f"{stage}{round_}" for stage in "abc")
    dsk: dict[Any, Any] = {(a, i): (increment, i) for i in range(leaves)}
    for i in range(middles):
        dsk[b, i] = (scaled_by(i), (a, i % leaves))
    bounds = np.linspace(0, middles, sums + 1).astype(int)
    for j in range(sums):
        dsk[c, j] = (total, *[(b, i) for i in range(bounds[j], bounds[j + 1])])
    return dsk, [(c, j) for j in range(sums)]


def graph_total(tasks: int) -> int:
    """What the graph's sums add up to, computed here."""
    dsk, _ = graph(tasks, 0)
    leaves = sum(1 for key in dsk if key[0] == "a0")
    middles = sum(1 for key in dsk if key[0] == "b0")
    return sum(i * (i % leaves + 1) for i in range(middles))


def _run_graph(side: Side, inputs: dict[str, Any]) -> int:
    inputs["round"] += 1
    dsk, keys = graph(inputs["tasks"], inputs["round"])
    assert side.client is not None
    return sum(side.client.get(dsk, keys))


def _run_holder(side: Side, inputs: dict[str, Any]) -> float:
    assert side.client is not None
    future = side.client.submit(lambda h: float(h.array.sum()), Holder(inputs["array"]))
    return future.result(WAIT)


def _run_map(side: Side, inputs: dict[str, Any]) -> int:
    assert side.client is not None
    client = side.client
    return sum(client.gather(client.map(lambda x: x + 1, range(inputs["items"]))))


def rows_for(scale: float) -> tuple[list[Row], dict[str, Any]]:
    tasks = max(10, int(100_000 * scale))
    items = max(10, int(10_000 * scale))
    rng = np.random.default_rng(0)
    dask_array = rng.random(int(25_000_000 * scale))  # 200 MB of float64
    joblib_arrays = [rng.random(int(50_000_000 * scale)) for _ in range(2)]  # 2 × 400 MB
    inputs = {
        "tasks": tasks,
        "total": graph_total(tasks),
        "round": 0,
        "array": dask_array,
        "items": items,
        "arrays": joblib_arrays,
    }
    holder_mb = f"{dask_array.nbytes / 1e6:.0f} MB"
    joblib_mb = f"2 × {joblib_arrays[0].nbytes / 1e6:.0f} MB"
    rows = [
        Row(
            "D1",
            f"a graph of {tasks:,} tasks (client.get): a lambda on each input, "
            "a closure made for each result, sums over groups",
            "dask",
            _run_graph,
            lambda r, i: r == i["total"],
            rounds=2,
        ),
        Row(
            "D2",
            f"one task whose argument is a user object holding a {holder_mb} array",
            "dask",
            _run_holder,
            lambda r, i: abs(r - i["array"].sum()) <= 1e-6 * abs(r),
            samples_private_memory=True,
        ),
        Row(
            "D3",
            f"client.map of a lambda over {items:,} items",
            "dask",
            _run_map,
            lambda r, i: r == sum(range(1, i["items"] + 1)),
            rounds=5,  # Dask's scheduling sets its time, and varies
        ),
        Row(
            "J1",
            f"joblib over {joblib_mb} float64 arrays, each summed",
            "joblib",
            lambda s, i: run_joblib(s, lambda a: float(a.sum()), i["arrays"]),
            lambda r, i: all(
                abs(x - a.sum()) <= 1e-6 * abs(x) for x, a in zip(r, i["arrays"], strict=True)
            ),
            samples_private_memory=True,
        ),
        Row(
            "J2",
            f"joblib over {joblib_mb} float64 arrays, each doubled and returned",
            "joblib",
            lambda s, i: run_joblib(s, lambda a: a * 2, i["arrays"]),
            lambda r, i: all(
                x.shape == a.shape and x[-1] == 2 * a[-1]
                for x, a in zip(r, i["arrays"], strict=True)
            ),
            samples_private_memory=True,
        ),
    ]
    return rows, inputs


# --- measuring --------------------------------------------------------------


@dataclasses.dataclass
class Cell(SystemSamples):
    """The parent is the client; on Dask rows, what its pickling did too."""

    pickling: list[float] = dataclasses.field(default_factory=list)
    in_band: list[int] = dataclasses.field(default_factory=list)
    out_of_band: list[int] = dataclasses.field(default_factory=list)


def measure(side: Side, row: Row, inputs: dict[str, Any], cell: Cell) -> Any:
    side.enter()
    workers = side.worker_pids()
    for pid in ["self", *workers]:
        memory.reset_rss_peak(pid)
    client_before = memory.status_kib("VmRSS")
    workers_before = {pid: memory.status_kib("VmRSS", pid) for pid in workers}
    meter = PickleMeter()
    with contextlib.ExitStack() as stack:
        samplers = []
        if row.samples_private_memory:
            samplers = [stack.enter_context(AnonSampler(pid)) for pid in workers]
        stack.enter_context(meter.metering())
        start = time.perf_counter()
        result = row.run(side, inputs)
        cell.seconds.append(time.perf_counter() - start)
    cell.parent_peak.append(max(0, memory.status_kib("VmHWM") - client_before) * 1024)
    growth = [memory.status_kib("VmHWM", pid) - before for pid, before in workers_before.items()]
    cell.worker_peak.append(max([0, *growth]) * 1024)
    if samplers:
        cell.worker_private.append(max(sampler.growth for sampler in samplers))
    if side.client is not None:
        cell.pickling.append(meter.seconds)
        cell.in_band.append(meter.in_band)
        cell.out_of_band.append(meter.out_of_band)
    return result


def run(
    scale: float, rounds: int | None, only: list[str] | None
) -> tuple[list[Row], list[Side], dict]:
    rows, inputs = rows_for(scale)
    if only:
        rows = [row for row in rows if row.id in only]
    if rounds is not None:
        rows = [dataclasses.replace(row, rounds=rounds) for row in rows]
    cells: dict[tuple[str, str], Cell] = {}
    sides: list[Side] = []
    try:
        families = {row.family for row in rows}
        if "dask" in families:
            sides += [dask_side(False), dask_side(True)]
        if "joblib" in families:
            sides += [joblib_side("loky"), joblib_side("oxpickle")]
        for row in rows:
            playing = [
                side for side in sides if (side.client is not None) == (row.family == "dask")
            ]
            for turn in range(row.rounds):
                for side in playing[turn % 2 :] + playing[: turn % 2]:
                    cell = cells.setdefault((row.id, side.name), Cell())
                    result = measure(side, row, inputs, cell)
                    if not row.check(result, inputs):
                        raise AssertionError(f"{row.id}: {side.name} returned a wrong result")
                    del result
            print(f"{row.id}: done", file=sys.stderr)
    finally:
        oxpickle.dask.uninstall_here()
        for side in sides:
            side.close()
    return rows, sides, cells


# --- the report -------------------------------------------------------------


def _ratio(reference: list[float], values: list[float]) -> str:
    if not reference or not values or statistics.median(values) == 0:
        return "—"
    return f"{statistics.median(reference) / statistics.median(values):.2f}×"


def _bytes(values: list[int]) -> str:
    """A stream's size: kB where MB would round small ones to 0."""
    median = statistics.median(values)
    return f"{median / 1e3:.0f} kB" if median < 1e6 else f"{median / 1e6:.1f} MB"


def render(rows: list[Row], sides: list[Side], cells: dict, scale: float) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("oxpickle", "distributed", "joblib", "numpy")
    )
    lines = [
        "# Dask and joblib: stock against oxpickle",
        "",
        "<!-- generated by `make bench` (python -m benches.clusters); do not edit -->",
        "",
        f"Measured {now}, CPython {sys.version.split()[0]}, {versions}; sizes × {scale:g}. "
        f"Dask: a scheduler and {WORKERS} one-thread workers per cluster, each a process; "
        f"joblib: {WORKERS} workers. Warm, collector on. Method: `benches/clusters.py`.",
        "",
    ]
    for row in rows:
        playing = [side for side in sides if (row.id, side.name) in cells]
        reference = cells[row.id, playing[0].name]
        lines += [f"**{row.id} · {row.title}**, median of {row.rounds} rounds", ""]
        if row.family == "dask":
            lines += [
                f"| cluster | wall time | speedup vs {playing[0].name} | client pickling "
                "| pickling speedup | in band | out of band | client peak RSS growth "
                "| worker peak RSS growth | worker private memory growth |",
                "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
            ]
        else:
            lines += [
                f"| backend | wall time | speedup vs {playing[0].name} | parent peak RSS growth "
                "| worker peak RSS growth | worker private memory growth |",
                "|---|--:|--:|--:|--:|--:|",
            ]
        for side in playing:
            cell = cells[row.id, side.name]
            common = [
                side.name,
                time_text(statistics.median(cell.seconds)),
                _ratio(reference.seconds, cell.seconds),
            ]
            memory = [mb_text(cell.parent_peak), mb_text(cell.worker_peak)]
            memory.append(mb_text(cell.worker_private))
            pickling = []
            if row.family == "dask":
                pickling = [
                    time_text(statistics.median(cell.pickling)),
                    _ratio(reference.pickling, cell.pickling),
                    _bytes(cell.in_band),
                    _bytes(cell.out_of_band),
                ]
            lines.append("| " + " | ".join(common + pickling + memory) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m benches.clusters", __doc__, OUT, "3, D1 2, D3 5")
    parser.add_argument("--rows", metavar="D1,J2", help="only these rows")
    args = parser.parse_args(argv)
    if not cli.reads_proc("clusters"):
        return 2
    scale = cli.scale(args)
    rows, sides, cells = run(scale, args.rounds, args.rows.split(",") if args.rows else None)
    cli.publish(render(rows, sides, cells, scale), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
