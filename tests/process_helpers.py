"""What the process tests share: the start methods, a leak check of the
shared-memory folder, and objects that workers load or refuse.

The functions here are importable by every worker, whatever its start
method, so they travel by reference."""

import os
import signal
import time
from pathlib import Path

import oxpickle.multiprocessing as oxmp
import pytest

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in oxmp.get_all_start_methods()]
SHM = Path("/dev/shm")
# More than the 1 MiB threshold: such an array travels in shared memory.
BIG = 1 << 18  # float64 items, 2 MiB


def segments() -> set[str]:
    return {path.name for path in SHM.glob("oxp_*")}


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves a segment of ours in /dev/shm."""
    before = segments()
    yield
    left = segments() - before
    for name in left:
        (SHM / name).unlink(missing_ok=True)
    assert left == set(), f"segments left behind: {sorted(left)}"


def refuse_to_load(made_in: int) -> None:
    raise ValueError(f"made in process {made_in}, refused in {os.getpid()}")


def load_only_where_made(made_in: int) -> "LoadsOnlyWhereMade":
    if os.getpid() != made_in:
        refuse_to_load(made_in)
    return LoadsOnlyWhereMade()


class LoadsOnlyWhereMade:
    """Pickles fine, and fails to load in any other process: bytes a
    receiver cannot load."""

    def __init__(self) -> None:
        self.pid = os.getpid()

    def __reduce__(self):
        return load_only_where_made, (self.pid,)


def make_unloadable() -> LoadsOnlyWhereMade:
    return LoadsOnlyWhereMade()


def die_holding_a_segment() -> None:
    """Makes a shared array the worker keeps, then is killed mid-task."""
    import numpy as np
    from oxpickle import shared

    die_holding_a_segment.kept = shared.copy(np.ones(BIG))
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_then_return(seconds: float, value):
    time.sleep(seconds)
    return value


def big_result():
    import numpy as np

    return np.ones(BIG)


def open_sealed(sealed):
    return sealed.open()


def keep_a_segment(value):
    """Makes a shared array the worker keeps until it exits."""
    import numpy as np
    from oxpickle import shared

    keep_a_segment.kept = shared.copy(np.ones(BIG))
    return value
