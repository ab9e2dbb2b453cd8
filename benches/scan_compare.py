"""``make scan-compare``: oxpickle's scanner and picklescan over the same
corpus, both in this process. Prints a Markdown table (each file's
expected verdict and what each tool said) with the total wall time of each
tool over the whole corpus, the median of several interleaved rounds, and
writes it to benches/scan_results.md. The corpus files are small, so a
second table times both tools on large pickles made here from the
benchmark workloads, where the per-byte cost of a scanner shows.

oxpickle scans each file as ``python -m oxpickle scan`` does, with the
profile a user would pass for the file's kind (see benches/corpus.py);
picklescan scans it with ``scan_file_path``, its own built-in lists. A
tool agrees with the manifest when it flags a malicious file, passes a
benign one clean, and reports a non-pickle as not scanned.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from oxpickle.cli import _report
from oxpickle.cli.scan import scan_file
from picklescan.scanner import scan_file_path

from benches.corpus import CORPUS, MISSING, manifest, profiles_for
from benches.machine import describe_machine
from benches.workloads import build_ints, build_records, build_shared_tree

# Large pickles (protocol 4, as written by the stdlib) for the speed table.
LARGE_PICKLES = {
    "100,000 records (W1)": lambda: build_records(100_000),
    "1,000,000 ints (W2)": lambda: build_ints(1_000_000),
    "nested tree of 200,000 nodes (W7)": lambda: build_shared_tree(200_000),
}

OUTPUT = Path(__file__).resolve().parent / "scan_results.md"


@dataclass(frozen=True)
class Verdict:
    """What a tool said of a file, and whether that flags it, passes it or
    gives up on it (the meaning of its command line's exit status)."""

    text: str
    outcome: str  # "unsafe", "clean" or "not scanned"


AGREES = {"malicious": "unsafe", "benign": "clean", "not-a-pickle": "not scanned"}


def oxpickle_verdict(path: Path, relative: str) -> Verdict:
    results = scan_file(str(path), profiles_for(relative))
    status = _report.exit_status(results)
    if status == _report.UNSAFE:
        word = "dangerous" if any(r.status == "dangerous" for r in results) else "unknown"
        return Verdict(word, "unsafe")
    if status == _report.NOT_SCANNED:
        return Verdict("could not scan", "not scanned")
    return Verdict("safe", "clean")


def picklescan_verdict(path: Path, relative: str) -> Verdict:
    try:
        found = scan_file_path(str(path))
    # picklescan's command line turns any exception into exit status 2.
    except Exception as exc:
        return Verdict(f"error ({type(exc).__name__})", "not scanned")
    words = []
    if found.issues_count:
        words.append(f"dangerous ({found.issues_count})")
    if found.suspicious_count:
        words.append(f"suspicious ({found.suspicious_count})")
    if found.scan_err:
        words.append("scan error")
    text = ", ".join(words) or "clean"
    # Its exit status: 2 on a scan error, else 1 when anything is dangerous.
    if found.scan_err:
        return Verdict(text, "not scanned")
    return Verdict(text, "unsafe" if found.issues_count else "clean")


def agrees(verdict: Verdict, expected: str, tool: str) -> bool:
    if expected == "malicious" and tool == "picklescan":
        # A scan error after dangerous globals still names them.
        return verdict.outcome == "unsafe" or verdict.text.startswith("dangerous")
    return verdict.outcome == AGREES[expected]


Tool = Callable[[Path, str], Verdict]
TOOLS: dict[str, Tool] = {"oxpickle": oxpickle_verdict, "picklescan": picklescan_verdict}


def timed_pass(tool: Tool, files: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for relative, _ in files:
        tool(CORPUS / relative, relative)
    return time.perf_counter() - start


def time_large_pickles(rounds: int) -> list[tuple[str, int, dict[str, float]]]:
    """Median seconds each tool takes on each large pickle."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, build in LARGE_PICKLES.items():
            path = Path(scratch) / "large.pkl"
            path.write_bytes(pickle.dumps(build(), protocol=4))
            medians = {}
            for tool, scan in TOOLS.items():
                samples = []
                for _ in range(rounds):
                    start = time.perf_counter()
                    scan(path, "large.pkl")
                    samples.append(time.perf_counter() - start)
                medians[tool] = statistics.median(samples)
            rows.append((name, path.stat().st_size, medians))
    return rows


def render_large(rows, rounds: int) -> list[str]:
    lines = [
        "",
        "## Large pickles",
        "",
        f"Each pickle written by the stdlib (protocol 4) from a benchmark workload; "
        f"median of {rounds} scans per tool.",
        "",
        "| pickle | size | oxpickle | picklescan | picklescan ÷ oxpickle |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, size, medians in rows:
        ours, theirs = medians["oxpickle"], medians["picklescan"]
        lines.append(
            f"| {name} | {size / 2**20:.1f} MiB | {ours * 1e3:.0f} ms | {theirs * 1e3:.0f} ms "
            f"| {theirs / ours:.1f}× |"
        )
    return lines


def render(files, verdicts, times, rounds: int) -> str:
    machine = describe_machine([])
    lines = [
        "# Scanner comparison: oxpickle and picklescan",
        "",
        "Written by `make scan-compare` (`python -m benches.scan_compare`); do not edit.",
        f"Corpus: picklescan's test files, {len(files)} files "
        "(`tests/data/picklescan/MANIFEST.tsv`).",
        f"Machine: {machine['cpu']}, {machine['nproc']} CPUs, {machine['python']}, "
        f"{machine['date']}; oxpickle extension {machine['oxpickle_extension']}, "
        f"picklescan {version('picklescan')}.",
        "",
        "| tool | agrees with the manifest | wall time, whole corpus |",
        "|---|---:|---:|",
    ]
    for tool in TOOLS:
        agreed = sum(
            agrees(verdicts[tool][relative], expected, tool) for relative, expected in files
        )
        median = statistics.median(times[tool]) * 1e3
        lines.append(f"| {tool} | {agreed} / {len(files)} | {median:.1f} ms |")
    lines += [
        "",
        f"Wall time: median of {rounds} interleaved rounds, in one process, after one "
        "untimed round each; every round reads each file from disk.",
        "",
        "| file | expected | oxpickle | picklescan |",
        "|---|---|---|---|",
    ]
    for relative, expected in files:
        cells = []
        for tool in TOOLS:
            verdict = verdicts[tool][relative]
            mark = "" if agrees(verdict, expected, tool) else " ✗"
            cells.append(f"{verdict.text}{mark}")
        lines.append(f"| `{relative}` | {expected} | {cells[0]} | {cells[1]} |")
    lines += ["", "✗: disagrees with the manifest."]
    return "\n".join(lines) + "\n"


def large_section(rounds: int) -> str:
    return "\n".join(render_large(time_large_pickles(rounds), rounds)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per tool")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the table")
    args = parser.parse_args(argv)
    files = manifest()
    if not files:
        print(f"error: {MISSING}", file=sys.stderr)
        return 2
    # picklescan logs each finding; the comparison wants its results only.
    logging.getLogger("picklescan").disabled = True
    verdicts = {
        tool: {relative: scan(CORPUS / relative, relative) for relative, _ in files}
        for tool, scan in TOOLS.items()
    }
    times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    for round_index in range(args.rounds):
        order = list(TOOLS) if round_index % 2 == 0 else list(reversed(TOOLS))
        for tool in order:
            times[tool].append(timed_pass(TOOLS[tool], files))
    table = render(files, verdicts, times, args.rounds) + large_section(3)
    args.output.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
