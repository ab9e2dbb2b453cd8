"""``python -m oxpickle``: the dis and demo commands, run as a user would."""

import pickle
import pickletools
import subprocess
import sys

import pytest


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "oxpickle", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )


def pickletools_listing(data):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        pickletools.dis(data)
    return out.getvalue()


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_dis_prints_what_pickletools_prints(tmp_path, protocol):
    data = pickle.dumps({"a": [1, 2.5, "x", None]}, protocol)
    path = tmp_path / "one.pkl"
    path.write_bytes(data)
    result = run("dis", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == pickletools_listing(data)


def test_dis_lists_each_of_several_pickles_in_one_file(tmp_path):
    first, second = pickle.dumps([1, 2], 2), pickle.dumps({"k": "v"}, 5)
    path = tmp_path / "two.pkl"
    path.write_bytes(first + second)
    result = run("dis", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith(pickletools_listing(first))
    assert f"--- pickle at byte {len(first)} ---" in out
    assert out.endswith(pickletools_listing(second))


def test_dis_reads_standard_input():
    data = pickle.dumps((1, "two"), 4)
    result = run("dis", "-", stdin=data)
    assert result.returncode == 0
    assert result.stdout.decode() == pickletools_listing(data)


def test_dis_of_a_truncated_pickle_says_where_and_exits_1(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3], 5)[:-3])
    result = run("dis", str(path))
    assert result.returncode == 1
    error = result.stderr.decode()
    assert error.startswith("error:")
    assert "at byte" in error and str(path) in error


def test_dis_of_a_missing_file_exits_2_with_a_message(tmp_path):
    missing = tmp_path / "nope.pkl"
    result = run("dis", str(missing))
    assert result.returncode == 2
    assert f"cannot read {missing}" in result.stderr.decode()


def test_demo_runs_and_every_check_passes():
    result = run("demo", "--quick")
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    out = result.stdout.decode()
    assert out.count("PASS") == 3 and "FAIL" not in out
    assert "oxpickle" in out and "pickle" in out


def test_unknown_command_is_refused_with_usage():
    result = run("frobnicate")
    assert result.returncode == 2
    assert b"usage:" in result.stderr
