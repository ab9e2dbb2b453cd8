"""Side-by-side benchmark runner: ``python -m benches.run [--quick] ...``.

For each workload: build it from a fixed seed, check every library's round trip
once (this is also the warmup), time interleaved rounds, measure dumps' peak
memory, then print a Markdown table and write benches/results.md and
benches/results.json. See benches/README.md for the methodology.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benches import versions
from benches.contestants import Contestant, contestants_for
from benches.libraries import Library, select_libraries
from benches.machine import describe_machine, load_average
from benches.memory import rss_peak_supported
from benches.report import RunResult, WorkloadResult, render_markdown, update_readme, write_results
from benches.workloads import Workload, select_workloads

BENCH_DIR = Path(__file__).resolve().parent
README = BENCH_DIR.parent / "README.md"
QUICK_SCALE = 0.1


@dataclasses.dataclass(frozen=True)
class RoundPolicy:
    """How many timed rounds a workload gets.

    Unless fixed with ``--rounds``, rounds continue while the next one is
    expected to end within the workload's time budget (wall clock, so the
    collections and frees between calls count too), but never fewer than
    ``minimum`` (a median needs several samples) nor more than ``maximum``.

    A library whose round takes longer than ``slow_round_seconds`` (dill
    takes seconds where the others take milliseconds) stops after the
    minimum, and the budget is spent on the others: otherwise it would leave
    them only the minimum too, and one slow stretch of a shared machine
    could set their medians. oxpickle and the libraries the speedups are
    measured against always run to the end.
    """

    fixed: int | None
    budget_seconds: float
    minimum: int
    maximum: int
    slow_round_seconds: float

    def wants_another(self, done: int, elapsed_seconds: float) -> bool:
        if self.fixed is not None:
            return done < self.fixed
        if done < self.minimum:
            return True
        expected_next = elapsed_seconds / done
        return done < self.maximum and elapsed_seconds + expected_next <= self.budget_seconds

    def keeps_sampling(self, contestant: Contestant, done: int, seconds: float) -> bool:
        """Whether a contestant that spent ``seconds`` on ``done`` rounds runs more."""
        if self.fixed is not None or done < self.minimum:
            return True
        return (contestant.outcome.library in ALWAYS_TO_THE_END
                or seconds / done <= self.slow_round_seconds)


# oxpickle, and the denominators of the speedup columns.
ALWAYS_TO_THE_END = frozenset({"oxpickle", "pickle", "cloudpickle"})
FULL_POLICY = RoundPolicy(fixed=None, budget_seconds=15.0, minimum=5, maximum=50,
                          slow_round_seconds=1.0)
QUICK_POLICY = RoundPolicy(fixed=None, budget_seconds=2.0, minimum=3, maximum=9,
                           slow_round_seconds=0.2)


def log(message: str) -> None:
    # Progress goes to stderr so that stdout carries only the table.
    print(message, file=sys.stderr, flush=True)


class BuildCache:
    """Keeps the last built object: W10a and W10b pickle the same 400 MB array."""

    def __init__(self) -> None:
        self.key: tuple[Callable[[int], Any], int] | None = None
        self.value: Any = None

    def build(self, workload: Workload, count: int) -> tuple[Any, float]:
        key = (workload.build, count)
        if key == self.key:
            return self.value, 0.0
        self.key, self.value = None, None  # free the old object before building
        gc.collect()
        started = time.perf_counter()
        self.key, self.value = key, workload.build(count)
        return self.value, time.perf_counter() - started

    def clear(self) -> None:
        self.key, self.value = None, None


def rotated(items: list[Contestant], offset: int) -> list[Contestant]:
    """Round r starts with contestant r: no library always runs first (cold caches)
    or always right after the most memory-hungry one."""
    if not items:
        return items
    shift = offset % len(items)
    return items[shift:] + items[:shift]


def check_all(contestants: list[Contestant], obj: Any) -> None:
    """Round 0: every contestant's round trip is checked; this is also the warmup."""
    for contestant in contestants:
        if contestant.active:
            contestant.prepare(obj)
            if not contestant.active:
                outcome = contestant.outcome
                log(f"    {outcome.label}: {outcome.status}: {outcome.note}")


def run_rounds(contestants: list[Contestant], obj: Any, policy: RoundPolicy) -> int:
    """Interleaved timed rounds; returns how many ran (slow libraries may have fewer)."""
    active = [c for c in contestants if c.active]
    spent = dict.fromkeys(active, 0.0)  # wall seconds of each contestant's rounds
    done = 0
    # The budget counts the rounds of the contestants still running.
    while active and policy.wants_another(done, sum(spent[c] for c in active)):
        for contestant in rotated(active, done):
            started = time.perf_counter()
            contestant.run_round(obj)
            spent[contestant] += time.perf_counter() - started
        done += 1
        active = [c for c in active if policy.keeps_sampling(c, done, spent[c])]
    return done


def measure_memory(contestants: list[Contestant], obj: Any) -> None:
    for contestant in contestants:
        if contestant.active:
            contestant.measure_memory(obj)


def run_workload(
    workload: Workload,
    libraries: list[Library],
    scale: float,
    policy: RoundPolicy,
    cache: BuildCache,
) -> WorkloadResult:
    started = time.perf_counter()
    count = workload.count(scale)
    title = workload.title(scale)
    log(f"{title}")
    obj, build_seconds = cache.build(workload, count)
    # Freeze what exists now (the workload, its builders' leftovers) into the
    # permanent generation: the gc.collect() before every timed call then only
    # walks new garbage instead of the whole 200k-node workload each time.
    gc.collect()
    gc.freeze()
    contestants = contestants_for(workload, libraries)
    try:
        phase = time.perf_counter()
        check_all(contestants, obj)
        checked = time.perf_counter()
        rounds = run_rounds(contestants, obj, policy)
        timed = time.perf_counter()
        measure_memory(contestants, obj)
        log(f"    built {build_seconds:.1f} s, checked {checked - phase:.1f} s, "
            f"{rounds} rounds {timed - checked:.1f} s, memory {time.perf_counter() - timed:.1f} s")
    finally:
        for contestant in contestants:
            contestant.release()
        gc.unfreeze()
        del obj
    seconds = time.perf_counter() - started
    return WorkloadResult(
        id=workload.id,
        title=title,
        count=count,
        rounds=rounds,
        build_seconds=round(build_seconds, 3),
        seconds=round(seconds, 3),
        outcomes=[c.outcome for c in contestants],
    )


def _split(option: str | None) -> list[str] | None:
    return [part for part in option.split(",") if part.strip()] if option else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benches.run",
        description="oxpickle against pickle, cloudpickle, dill and msgspec, side by side.",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes x {QUICK_SCALE:g} and fewer rounds (about a minute)")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="timed rounds per workload (default: from a time budget)")
    parser.add_argument("--workloads", metavar="W1,W5",
                        help="only these workloads (W6 selects W6a and W6b)")
    parser.add_argument("--only", metavar="oxpickle,pickle",
                        help="only these libraries")
    parser.add_argument("--update-readme", action="store_true",
                        help="put the table between the bench-table markers of README.md")
    parser.add_argument("--out-dir", type=Path, default=BENCH_DIR,
                        help="where results.md and results.json go (default: benches/)")
    parser.add_argument("--version-line-to", type=Path, metavar="RESULTS_MD",
                        help="also put this CPython version's summary line in that "
                             "results.md (make bench PYTHON=<version>)")
    # Hidden: a further size multiplier, so the smoke test runs in seconds.
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.scale <= 0:
        parser.error("--scale must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        workloads = select_workloads(_split(args.workloads))
        libraries = select_libraries(_split(args.only))
    except ValueError as error:
        log(f"error: {error}")
        return 2
    base_policy = QUICK_POLICY if args.quick else FULL_POLICY
    policy = dataclasses.replace(base_policy, fixed=args.rounds)
    scale = (QUICK_SCALE if args.quick else 1.0) * args.scale
    if not rss_peak_supported():
        log("note: /proc/self/clear_refs is not writable; RSS peaks will read n/a")

    started = time.perf_counter()
    load_at_start = load_average()
    cache = BuildCache()
    results = [run_workload(w, libraries, scale, policy, cache) for w in workloads]
    cache.clear()

    meta = describe_machine(libraries) | {
        "mode": "quick" if args.quick else "full",
        "scale": scale,
        "rounds_option": args.rounds,
        "load_average_at_start": load_at_start,
        "seconds": time.perf_counter() - started,
    }
    run = RunResult(meta=meta, workloads=results)
    markdown_path, json_path = write_results(run, args.out_dir)
    if args.version_line_to is not None:
        versions.record(args.version_line_to, versions.summary_line(run))
        log(f"{args.version_line_to}: this version's summary line updated")
    body = render_markdown(run)
    print(body)
    log(f"wrote {markdown_path} and {json_path}")
    if args.update_readme:
        updated = update_readme(README, body)
        log(f"README.md {'updated' if updated else 'left alone: no bench-table markers'}")
    for failure in run.failed:
        log(f"FAILED: {failure}")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
