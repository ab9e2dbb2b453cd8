"""Two builds, one process, alternating calls: ``python -m benches.ab OLD NEW``.

On a shared VM, medians from separate runs drift by more than most engine
changes are worth. Here both sides share one process, one copy of the
workload and the same moments of machine noise: each round calls OLD and
NEW once each (in alternating order, ``gc.collect()`` before each call), and
the result is the median of the per-round ratios OLD ÷ NEW, above 1 when NEW
is faster.

OLD and NEW are each a path to a build of the extension module (for
example a copy of ``python/oxpickle/_oxpickle.*.so`` kept from before a
change), or one of ``oxpickle`` (the installed build), ``pickle`` or
``cloudpickle``. Two builds of the extension load side by side because each
file is a module of its own to the import system.

``--fragment`` first builds and drops W8 and W7, so the workload is built in
a heap that earlier work has fragmented, as it is in a full ``make bench``.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import pickle
import statistics
from collections.abc import Callable
from types import ModuleType
from typing import Any

import cloudpickle
import oxpickle

from benches.libraries import PROTOCOL
from benches.timing import timed_call
from benches.workloads import select_workloads

NAMED = {"oxpickle": oxpickle, "pickle": pickle, "cloudpickle": cloudpickle}


def load_side(name: str) -> ModuleType:
    """A named library, or the extension module built into the file ``name``."""
    if name in NAMED:
        return NAMED[name]
    spec = importlib.util.spec_from_file_location("_oxpickle", name)
    if spec is None or spec.loader is None:
        raise ValueError(f"{name}: not a library name nor an extension module file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(workload_id: str, scale: float) -> Any:
    matching = [w for w in select_workloads([workload_id]) if w.id.upper() == workload_id.upper()]
    if not matching:
        raise ValueError(f"{workload_id}: name one workload (W6a, not W6)")
    return matching[0].build(matching[0].count(scale))


def fragment_heap(scale: float) -> None:
    """Build, pickle and drop other workloads, as a full run does before W9."""
    for workload_id in ("W8", "W7"):
        junk = build(workload_id, scale)
        oxpickle.loads(oxpickle.dumps(junk))
        del junk
    gc.collect()


def compare(old: ModuleType, new: ModuleType, obj: Any, operation: str, rounds: int) -> str:
    # loads: both sides load the same stream, the standard library's.
    stream = pickle.dumps(obj, protocol=PROTOCOL) if operation == "loads" else b""

    def call(side: ModuleType) -> Callable[[], Any]:
        if operation == "dumps":
            return lambda: side.dumps(obj, protocol=PROTOCOL)
        return lambda: side.loads(stream)

    calls = {"old": call(old), "new": call(new)}
    samples: dict[str, list[int]] = {"old": [], "new": []}
    for round_index in range(rounds):
        order = ("old", "new") if round_index % 2 == 0 else ("new", "old")
        for side in order:
            elapsed, result = timed_call(calls[side])
            del result  # freed before the other side's call
            samples[side].append(elapsed)
    ratios = [o / n for o, n in zip(samples["old"], samples["new"], strict=True)]
    old_ms, new_ms = (statistics.median(samples[s]) / 1e6 for s in ("old", "new"))
    return (f"old {old_ms:.3g} ms, new {new_ms:.3g} ms, "
            f"old ÷ new (median of {rounds} paired rounds) {statistics.median(ratios):.3f}")


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benches.ab", description=summary)
    parser.add_argument("old", help="extension module file, or oxpickle / pickle / cloudpickle")
    parser.add_argument("new", help="the same, for the side under test")
    parser.add_argument("--workload", default="W1", help="one workload id (default W1)")
    parser.add_argument("--op", choices=("dumps", "loads"), default="dumps")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--scale", type=float, default=1.0, help="workload size multiplier")
    parser.add_argument("--fragment", action="store_true",
                        help="build the workload in a heap fragmented by W8 and W7")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    old, new = load_side(args.old), load_side(args.new)
    if args.fragment:
        fragment_heap(args.scale)
    obj = build(args.workload, args.scale)
    gc.collect()
    gc.freeze()
    heap = "fragmented heap" if args.fragment else "fresh heap"
    print(f"{args.workload} {args.op}, {heap}: {compare(old, new, obj, args.op, args.rounds)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
