"""The benchmark runner and its workloads work: behaviour only, never timings."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import oxpickle
import pytest

from benches import checks, versions, workloads
from benches.report import README_END, README_START, update_readme


def run_module(module: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """A benches module in a child process: the libraries it compares
    include dill, and importing dill rewires the stdlib's pure-Python
    pickler for the whole process, which must not leak into the other
    tests of this session."""
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def main(argv: list[str]) -> int:
    return run_module("benches.run", argv).returncode


# Every workload at a size that builds in milliseconds (W1: 500 records,
# W8: 10 functions, so each of the five function kinds appears).
TINY = 0.005


@pytest.mark.parametrize("workload", workloads.WORKLOADS, ids=lambda w: w.id)
def test_every_workload_round_trips_through_oxpickle(workload: workloads.Workload) -> None:
    original = workload.build(workload.count(TINY))
    if workload.out_of_band:
        buffers: list[pickle.PickleBuffer] = []
        stream = oxpickle.dumps(original, protocol=5, buffer_callback=buffers.append)
        assert buffers, "the array should travel out of band"
        loaded = oxpickle.loads(stream, buffers=buffers)
    else:
        loaded = oxpickle.loads(oxpickle.dumps(original))
    workload.check(original, loaded)


def test_workloads_are_deterministic() -> None:
    first = workloads.build_records(50)
    assert first == workloads.build_records(50)
    tree = workloads.build_shared_tree(300)
    checks.assert_same_graph(tree, workloads.build_shared_tree(300))


def test_function_workload_cannot_be_pickled_by_reference() -> None:
    functions = workloads.build_functions(10)
    assert not any(checks.is_importable(f) for f in functions)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(functions, protocol=5)


def test_plain_data_check_sees_type_value_and_sharing_changes() -> None:
    records = workloads.build_records(3)
    changed = [dict(r) for r in records]
    changed[1]["active"] = int(changed[1]["active"])  # bool -> int compares equal
    with pytest.raises(checks.Mismatch, match=r"root\[1\]\['active'\]"):
        checks.assert_same_graph(records, changed)

    shared = [1, 2]
    with pytest.raises(checks.Mismatch, match="duplicated"):
        checks.assert_same_graph([shared, shared], [[1, 2], [1, 2]])

    cycle: list[object] = []
    cycle.append(cycle)
    checks.assert_same_graph(cycle, oxpickle.loads(oxpickle.dumps(cycle)))


def test_tree_workload_has_one_cycle_and_shared_subtrees() -> None:
    tree = workloads.build_shared_tree(2000)
    seen: set[int] = set()
    reached_twice = 0
    back_to_root = 0
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        children = list(node.values()) if isinstance(node, dict) else node
        for child in children if isinstance(children, list) else []:
            if child is tree:
                back_to_root += 1
            elif isinstance(child, dict | list):
                if id(child) in seen:
                    reached_twice += 1
                else:
                    seen.add(id(child))
                    stack.append(child)
    assert back_to_root == 1
    assert reached_twice > 0


def test_runner_quick_single_round_writes_table_and_json(tmp_path: Path) -> None:
    argv = ["--quick", "--rounds", "1", "--workloads", "W1", "--scale", "0.01"]
    assert main([*argv, "--out-dir", str(tmp_path)]) == 0

    table = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "speedup vs pickle (pickle ÷ this)" in table
    assert "oxpickle ← pickle's stream" in table

    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["meta"]["mode"] == "quick"
    [w1] = results["workloads"]
    labels = {row["label"]: row for row in w1["results"]}
    for library in ("oxpickle", "pickle", "cloudpickle", "dill", "msgspec"):
        assert labels[library]["status"] == "ok"
        assert len(labels[library]["samples_ns"]["dumps"]) == 1
        assert labels[library]["size_bytes"] > 0
    assert labels["pickle"]["operations"]["dumps"]["speedup_vs_pickle"] == 1.0


def test_the_processes_benchmark_runs_every_pool_on_every_row(tmp_path: Path) -> None:
    out = tmp_path / "processes.md"
    done = run_module(
        "benches.processes", ["--rounds", "1", "--scale", "0.0005", "--out", str(out)]
    )
    assert done.returncode == 0, done.stderr
    table = out.read_text(encoding="utf-8")
    for row in ("P1", "P2", "P3", "P4"):
        assert f"**{row} · " in table
    for pool in ("oxpickle executor", "oxpickle Pool", "stdlib spawn", "stdlib fork"):
        assert f"| {pool} |" in table
    assert "| loky + cloudpickle |" in table and "| loky + oxpickle |" in table
    assert table.count("refuses a lambda") == 4  # the stdlib's two pools on P3 and P4


def test_the_clusters_benchmark_runs_both_sides_of_every_row(tmp_path: Path) -> None:
    out = tmp_path / "clusters.md"
    shm_before = set(os.listdir("/dev/shm"))
    done = run_module("benches.clusters", ["--rounds", "1", "--scale", "0.001", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    table = out.read_text(encoding="utf-8")
    for row in ("D1", "D2", "D3", "J1", "J2"):
        assert f"**{row} · " in table
    for side in ("Dask, stock", "Dask + oxpickle.dask"):
        assert table.count(f"| {side} |") == 3
    for side in ("joblib default (loky)", 'joblib backend="oxpickle"'):
        assert table.count(f"| {side} |") == 2
    # The clusters' processes closed themselves: nothing of theirs is left.
    assert set(os.listdir("/dev/shm")) - shm_before == set()


def test_runner_filters_libraries_and_marks_unsupported_ones(tmp_path: Path) -> None:
    argv = ["--quick", "--rounds", "1", "--workloads", "W8", "--only", "oxpickle,pickle"]
    assert main([*argv, "--scale", "0.05", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    statuses = {row["label"]: row["status"] for row in results["workloads"][0]["results"]}
    assert statuses == {"oxpickle": "ok", "pickle": "n/a"}


def test_runner_rejects_unknown_names(tmp_path: Path) -> None:
    assert main(["--workloads", "W99", "--out-dir", str(tmp_path)]) == 2
    assert main(["--only", "marshal", "--out-dir", str(tmp_path)]) == 2


def test_update_readme_replaces_only_between_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold table\n{README_END}\noutro\n")
    assert update_readme(readme, "new table\n")
    assert readme.read_text() == f"intro\n{README_START}\nnew table\n{README_END}\noutro\n"

    untouched = "no markers here\n"
    readme.write_text(untouched)
    assert not update_readme(readme, "new table\n")
    assert readme.read_text() == untouched


def test_ab_compares_a_build_file_with_a_named_library() -> None:
    """`benches.ab` loads a second copy of the extension from its file and
    times it against a named library, round by round."""
    build = oxpickle._oxpickle.__file__
    lines = []
    for argv in (
        ["pickle", build, "--workload", "W7", "--op", "loads", "--rounds", "2"],
        ["oxpickle", build, "--workload", "W9", "--rounds", "1", "--fragment"],
    ):
        done = run_module("benches.ab", [*argv, "--scale", "0.01"])
        assert done.returncode == 0, done.stderr
        lines.append(done.stdout.strip())
    assert lines[0].startswith("W7 loads, fresh heap: old ")
    assert lines[1].startswith("W9 dumps, fragmented heap: old ")
    assert all("old ÷ new (median of" in line for line in lines)


def test_each_version_keeps_its_own_summary_line(tmp_path: Path) -> None:
    """A run writes its version's line; a later run on the project's own
    interpreter rewrites results.md but keeps the other versions' lines."""
    results_md = tmp_path / "results.md"
    other = "- **CPython 9.9** (9.9.0, quick run, then): dumps 2.00× vs pickle."
    stale_own = f"- **CPython {sys.version_info[0]}.{sys.version_info[1]}** (stale)."
    results_md.write_text(versions.with_line(versions.with_line("# old\n", other), stale_own))
    argv = ["--quick", "--rounds", "1", "--workloads", "W1,W8", "--scale", "0.01"]
    assert main([*argv, "--out-dir", str(tmp_path)]) == 0

    text = results_md.read_text(encoding="utf-8")
    assert "# old" not in text
    lines = versions.lines_in(text)
    assert other in lines
    assert stale_own not in lines
    [own] = [line for line in lines if line != other]
    assert own.startswith(f"- **CPython {sys.version_info[0]}.{sys.version_info[1]}** (")
    assert "vs pickle on 1 data workloads" in own
    assert "W8 dumps" in own and "vs cloudpickle" in own
    # Versions are listed in order, whatever order they were recorded in.
    assert lines.index(own) < lines.index(other)


def test_a_version_line_goes_into_another_results_file(tmp_path: Path) -> None:
    target = tmp_path / "kept.md"
    target.write_text("# body written by another run\n")
    argv = ["--quick", "--rounds", "1", "--workloads", "W1", "--scale", "0.01"]
    out = tmp_path / "run"
    assert main([*argv, "--out-dir", str(out), "--version-line-to", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# body written by another run\n")
    assert len(versions.lines_in(text)) == 1


def test_a_peer_that_cannot_pickle_code_here_sits_out_the_code_workloads() -> None:
    # In a child: benches.libraries imports dill (see run_module).
    probe = """
import pickle
from benches import libraries, workloads
import cloudpickle

class Lagging:
    # A peer that has not caught up with this CPython's code objects.
    @staticmethod
    def dumps(obj, protocol):
        raise AttributeError("'code' object has no attribute 'co_lnotab'")
    loads = staticmethod(pickle.loads)

peer = libraries._code_peer("lagging", Lagging, "lagging")
by_id = {w.id: w for w in workloads.select_workloads(None)}
reason = peer.unsupported_reason(by_id["W8"])
assert reason is not None and "lagging" in reason and "co_lnotab" in reason, reason
assert peer.unsupported_reason(by_id["W9"]) == reason
assert peer.unsupported_reason(by_id["W1"]) is None
assert libraries._code_peer("cloudpickle", cloudpickle, "cloudpickle").cannot_ship_code is None
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_version_block_cut_short_is_replaced_not_repeated() -> None:
    line = "- **CPython 3.12** (3.12.1, quick run, then): dumps 2.00× vs pickle."
    cut = f"# results\n\n{versions.START}\n{versions.HEADING}\n- **CPython 3.11** (x).\n"
    text = versions.with_line(cut, line)
    assert text.count(versions.START) == 1 and text.count(versions.END) == 1
    assert versions.lines_in(text) == ["- **CPython 3.11** (x).", line]
