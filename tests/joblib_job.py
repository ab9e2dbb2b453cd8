"""A user's joblib job, run as __main__ by the joblib tests: its class,
lambdas and closures exist only here, so they travel by value.

    LOKY_PICKLER=oxpickle python joblib_job.py env
    python joblib_job.py set      (joblib.externals.loky.set_loky_pickler)
    python joblib_job.py backend  (the "oxpickle" backend, oxpickle.joblib)

Prints one JSON line: what came back, and how it came.
"""

import json
import os
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import oxpickle.joblib  # noqa: F401  (registers the "oxpickle" backend)
from joblib.externals import loky
from joblib.externals.loky.backend.reduction import get_loky_pickler_name


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def offset_by(offset):
    return lambda point: Point(point.x + offset, point.y)


def worker_pickler(_):
    from joblib.externals.loky.backend.reduction import get_loky_pickler_name

    return get_loky_pickler_name()


def main(how):
    if how == "set":
        loky.set_loky_pickler("oxpickle")
    parallel = joblib.Parallel(n_jobs=2, backend="loky", max_nbytes="1M")
    shift = offset_by(10)
    moved = parallel(joblib.delayed(shift)(Point(i, -i)) for i in range(6))
    squares = parallel(joblib.delayed(lambda x: x * x)(i) for i in range(6))
    # 8 MB: above max_nbytes, so joblib memory-maps it to the workers.
    big = np.arange(1_000_000, dtype=np.float64)
    sums = parallel(joblib.delayed(lambda a, k: float(a[k:].sum()))(big, k) for k in range(3))
    return {
        "moved": [[p.x, p.y, type(p).__module__] for p in moved],
        "squares": squares,
        "sums": sums,
        "expected_sums": [float(big[k:].sum()) for k in range(3)],
        "big_arrives_as": parallel([joblib.delayed(lambda a: type(a).__name__)(big)]),
        "parent_pickler": get_loky_pickler_name(),
        "worker_picklers": sorted(
            set(parallel(joblib.delayed(worker_pickler)(i) for i in range(4)))
        ),
    }


def fails(i):
    if i == 3:
        raise ValueError(f"task {i} refuses")
    return i


def pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def joblib_files():
    return sorted(path.name for path in Path("/dev/shm").glob("joblib_*"))


def on_the_oxpickle_backend():
    before = joblib_files()
    with joblib.parallel_config(backend="oxpickle", n_jobs=2):
        parallel = joblib.Parallel()
        shift = offset_by(10)
        moved = parallel(joblib.delayed(shift)(Point(i, -i)) for i in range(6))
        # 16 MB each: above the shared-memory threshold, both ways.
        arrays = [np.full(2_000_000, float(k)) for k in range(2)]
        doubled = parallel(joblib.delayed(lambda a: (type(a).__name__, a * 2))(a) for a in arrays)
        written = parallel(joblib.delayed(lambda a: a.flags.writeable)(a) for a in arrays)
        pids = set(parallel(joblib.delayed(pid_after)(0.3) for _ in range(4)))
        try:
            parallel(joblib.delayed(fails)(i) for i in range(8))
            error = None
        except ValueError as raised:
            error = str(raised)
        after_error = parallel(joblib.delayed(lambda x: x + 1)(i) for i in range(4))
    return {
        "moved": [[p.x, p.y, type(p).__module__] for p in moved],
        "doubled_ok": [
            kind == "ndarray" and bool((b == 2 * a).all())
            for (kind, b), a in zip(doubled, arrays, strict=True)
        ],
        "writable": written,
        "worker_count": len(pids),
        "error": error,
        "after_error": after_error,
        "new_joblib_files": sorted(set(joblib_files()) - set(before)),
    }


if __name__ == "__main__":
    how = sys.argv[1]
    print(json.dumps(on_the_oxpickle_backend() if how == "backend" else main(how)))
