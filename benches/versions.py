"""One summary line per CPython version, kept in a block of results.md.

Every run writes its own version's line. A full run on the project's
interpreter rewrites the rest of results.md, but it keeps the other
versions' lines, which only a run on those versions replaces
(``make bench PYTHON=3.13``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # report.py imports this module to write results.md
    from benches.report import RunResult, WorkloadResult

START, END = "<!-- per-version -->", "<!-- /per-version -->"
HEADING = "## On each CPython version"
# The data workloads, whose speed against pickle the targets are set on.
DATA_WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6a", "W6b", "W7")
CODE_WORKLOAD = "W8"
_LINE = re.compile(r"^- \*\*CPython (\d+\.\d+)\*\*")


def _speedup(workload: WorkloadResult, operation: str, baseline: str) -> float | None:
    for outcome in workload.outcomes:
        if outcome.label == "oxpickle":
            return workload.speedup(outcome, operation, baseline)
    return None


def _span(values: list[float]) -> str:
    if not values:
        return "n/a"
    low, high = min(values), max(values)
    return f"{low:.2f}×" if round(low, 2) == round(high, 2) else f"{low:.2f}–{high:.2f}×"


def summary_line(run: RunResult) -> str:
    """The version's line: oxpickle's speedups as ranges over workloads."""
    meta = run.meta
    data = [w for w in run.workloads if w.id in DATA_WORKLOADS]
    parts = []
    for operation in ("dumps", "loads"):
        values = [s for w in data if (s := _speedup(w, operation, "pickle")) is not None]
        parts.append(f"{operation} {_span(values)} vs pickle on {len(values)} data workloads")
    code = [w for w in run.workloads if w.id == CODE_WORKLOAD]
    for operation in ("dumps", "loads"):
        values = [s for w in code if (s := _speedup(w, operation, "cloudpickle")) is not None]
        if values:
            parts.append(f"W8 {operation} {_span(values)} vs cloudpickle")
    every = [
        (s, w.id)
        for w in run.workloads
        if (s := _speedup(w, "dumps", "pickle")) is not None
    ]
    if every:
        slowest, which = min(every)
        parts.append(f"slowest dumps {which} {slowest:.2f}×")
    version = meta["python"].split()[-1]  # "CPython 3.13.0"
    minor = ".".join(version.split(".")[:2])
    return (
        f"- **CPython {minor}** ({version}, {meta['mode']} run, {meta['date']}): "
        + "; ".join(parts)
        + "."
    )


def block(lines: list[str]) -> str:
    ordered = sorted(lines, key=lambda line: tuple(int(p) for p in _version(line).split(".")))
    intro = (
        "oxpickle's speedup (the other library's median ÷ oxpickle's) as the range "
        "over workloads; each line comes from `make bench PYTHON=<version>` (or "
        "`make bench` for the project's own interpreter) on this machine."
    )
    return "\n".join([START, HEADING, "", intro, "", *ordered, END]) + "\n"


def _version(line: str) -> str:
    match = _LINE.match(line)
    return match.group(1) if match else "0.0"


def lines_in(text: str) -> list[str]:
    """The version lines of a results.md's block (none if it has no block)."""
    match = re.search(re.escape(START) + r"(.*?)(?:" + re.escape(END) + r"|$)", text, re.DOTALL)
    if not match:
        return []
    return [line for line in match.group(1).splitlines() if _LINE.match(line)]


def with_line(text: str, line: str) -> str:
    """`text` (a results.md) with `line` in its block, replacing that
    version's earlier line; the block goes at the end if there is none."""
    kept = [old for old in lines_in(text) if _version(old) != _version(line)]
    new_block = block([*kept, line])
    # A block cut short (START without END) runs to the end of the text.
    pattern = re.compile(re.escape(START) + r"(.*?" + re.escape(END) + r"\n?|.*)", re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _match: new_block, text, count=1)
    return text.rstrip("\n") + "\n\n" + new_block


def record(path: Path, line: str) -> None:
    """Writes `line` into the block of the results.md at `path`."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# oxpickle benchmark results\n"
    path.write_text(with_line(text, line), encoding="utf-8")
