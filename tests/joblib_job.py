"""A user's joblib job, run as __main__ by the joblib tests: its class,
lambdas and closures exist only here, so they travel by value.

    LOKY_PICKLER=oxpickle python joblib_job.py env
    python joblib_job.py set      (joblib.externals.loky.set_loky_pickler)

Prints one JSON line: what came back, and the pickler each side used.
"""

import json
import sys

import joblib
import numpy as np
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


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
