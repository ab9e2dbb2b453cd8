"""A user's Dask job, run as __main__ by the Dask tests: its class, its
lambdas and its closures exist only here, so they travel by value.

    python dask_job.py ADDRESS   a running cluster's scheduler
    python dask_job.py local     a LocalCluster with oxpickle preloaded

Prints one JSON line: what came back, and how often this process fell
back to cloudpickle.
"""

import json
import sys

import cloudpickle
import distributed
import numpy as np
import oxpickle.dask


class Holder:
    """PEP 574's example: a user object with a large array in an attribute."""

    def __init__(self, array):
        self.array = array


def scaled_by(factor):
    return lambda x: factor * x


def count_calls(module, name, counts):
    """Counts the calls distributed makes (dask's tokenize hashes __main__
    code with cloudpickle too, which is not transport)."""
    original = getattr(module, name)

    def counting(*args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.partition(".")[0] == "distributed":
            counts[name] = counts.get(name, 0) + 1
        return original(*args, **kwargs)

    setattr(module, name, counting)


def job(client):
    oxpickle.dask.install_here()
    counts = {}
    count_calls(cloudpickle, "dumps", counts)
    triple = scaled_by(3)
    mapped = client.gather(client.map(lambda x: x + 1, range(20)))
    chained = client.submit(triple, client.submit(lambda: 14)).result(60)
    holder = client.submit(lambda n: Holder(np.arange(n, dtype=np.float64)), 1_000_000)
    total = client.submit(lambda h: float(h.array.sum()), holder).result(60)
    returned = holder.result(60)
    everywhere = client.run(oxpickle.dask.installed_here)
    scheduler = client.run_on_scheduler(oxpickle.dask.installed_here)
    return {
        "mapped": mapped,
        "chained": chained,
        "total": total,
        "returned": [type(returned).__module__, type(returned).__name__, len(returned.array)],
        "workers_installed": sorted(everywhere.values()),
        "scheduler_installed": scheduler,
        "cloudpickle_dumps": counts.get("dumps", 0),
    }


def main(target):
    if target == "local":
        preload = ["oxpickle.dask"]
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                preload=preload,
                scheduler_kwargs={"preload": preload},
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            return job(client)
    with distributed.Client(target, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        return job(client)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
