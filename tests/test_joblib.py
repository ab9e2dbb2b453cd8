"""joblib and loky with oxpickle as loky's pickler, through real worker
processes: `LOKY_PICKLER=oxpickle` and `set_loky_pickler("oxpickle")`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("joblib")
pytest.importorskip("numpy")

pytestmark = pytest.mark.timeout(240)
HERE = Path(__file__).parent


def run_job(how: str, pickler: str | None) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "LOKY_PICKLER"}
    if pickler is not None:
        env["LOKY_PICKLER"] = pickler
    done = subprocess.run(
        [sys.executable, str(HERE / "joblib_job.py"), how],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=HERE,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("how", "pickler"), [("env", "oxpickle"), ("set", None)])
def test_joblib_runs_main_code_and_arrays_with_oxpickle_as_lokys_pickler(how, pickler):
    result = run_job(how, pickler)
    assert result["parent_pickler"] == "oxpickle"
    assert result["worker_picklers"] == ["oxpickle"]
    # A __main__ class made by a closure, and lambdas, travel by value.
    assert result["moved"] == [[10 + i, -i, "__main__"] for i in range(6)]
    assert result["squares"] == [i * i for i in range(6)]
    # joblib's own reducers still apply: a big array is memory-mapped.
    assert result["big_arrives_as"] == ["memmap"]
    assert result["sums"] == result["expected_sums"]


def test_the_oxpickle_backend_sends_arrays_through_shared_memory_not_files():
    before = segments_of_ours()
    result = run_job("backend", None)
    assert result["moved"] == [[10 + i, -i, "__main__"] for i in range(6)]
    # Plain arrays of their own, writable, both ways; no memory-mapped files.
    assert result["doubled_ok"] == [True, True]
    assert result["writable"] == [True, True]
    assert result["new_joblib_files"] == []
    assert result["worker_count"] == 2
    # A failed call is the caller's error, and the backend goes on.
    assert result["error"] == "task 3 refuses"
    assert result["after_error"] == [1, 2, 3, 4]
    assert segments_of_ours() == before


def segments_of_ours() -> set[str]:
    return {path.name for path in Path("/dev/shm").glob("oxp_*")}
