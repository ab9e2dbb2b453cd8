"""``demo``: the main job for now. A realistic workload (record dicts and a
large NumPy array, in band and out of band) through oxpickle and through
the stdlib pickle, side by side, with the stdlib reading oxpickle's bytes
back as the correctness check."""

from __future__ import annotations

import argparse
import gc
import pickle
import random
import statistics
import string
import time
from collections.abc import Callable
from typing import Any

import oxpickle

ROUNDS = 3


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo", help="round-trip a realistic workload through oxpickle and pickle"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for tests")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import numpy
    except ImportError:
        print("error: the demo needs numpy (pip install numpy)")
        return 2
    records = make_records(10_000 if args.quick else 100_000)
    array = numpy.random.default_rng(7).random((10 if args.quick else 100) * 131_072)
    print(f"oxpickle demo: {len(records):,} record dicts; a {array.nbytes / 2**20:.0f} MiB array")
    print(f"{'workload':<26}{'library':<10}{'dumps':>10}{'loads':>10}{'size':>14}")
    checks = [
        compare("records", records, lambda a, b: a == b),
        compare("array, in band", array, lambda a, b: bool((a == b).all())),
        compare_out_of_band(array, numpy),
    ]
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  pickle.loads reads oxpickle's {name} back equal")
    return 0 if all(ok for _, ok in checks) else 1


def make_records(count: int) -> list[dict[str, Any]]:
    rng = random.Random(42)

    def word(n: int) -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=n))

    return [
        {
            "id": i,
            "name": word(8),
            "score": rng.random(),
            "active": rng.random() < 0.5,
            "parent": None,
            "tags": [word(4), word(4), word(4)],
        }
        for i in range(count)
    ]


def median_time(action: Callable[[], Any]) -> float:
    times = []
    for _ in range(ROUNDS):
        gc.collect()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(workload: str, library: str, dumps: float, loads: float, size: int) -> None:
    print(f"{workload:<26}{library:<10}{dumps * 1e3:>8.1f}ms{loads * 1e3:>8.1f}ms{size:>14,}")


def compare(workload: str, obj: Any, equal: Callable[[Any, Any], bool]) -> tuple[str, bool]:
    for library in (oxpickle, pickle):
        data = library.dumps(obj, 5)
        dumps = median_time(lambda lib=library: lib.dumps(obj, 5))
        loads = median_time(lambda lib=library, d=data: lib.loads(d))
        report(workload, library.__name__, dumps, loads, len(data))
    return workload, equal(pickle.loads(oxpickle.dumps(obj, 5)), obj)


def compare_out_of_band(array: Any, numpy: Any) -> tuple[str, bool]:
    workload = "array, out of band"
    for library in (oxpickle, pickle):
        buffers: list[pickle.PickleBuffer] = []
        data = library.dumps(array, 5, buffer_callback=buffers.append)
        dumps = median_time(lambda lib=library: lib.dumps(array, 5, buffer_callback=list().append))
        loads = median_time(lambda lib=library, d=data, b=buffers: lib.loads(d, buffers=b))
        report(workload, library.__name__, dumps, loads, len(data))
    buffers = []
    data = oxpickle.dumps(array, 5, buffer_callback=buffers.append)
    back = pickle.loads(data, buffers=buffers)
    return workload, bool(numpy.array_equal(back, array))
