"""Instruction counts, not seconds: ``python -m benches.callgrind [W1 W3 ...]``.

For each workload, operation (dumps, loads of the library's own stream) and
library (oxpickle, pickle), a child interpreter builds the workload at a
fixed scale, and ``valgrind --tool=callgrind`` counts only the instructions
executed inside that one call (``--toggle-collect`` on the library's entry
point). Counts are repeatable whatever else the machine is doing, so they
are the noise-free figure next to the timed benchmark.

Each count is split by where the instructions ran: in the library's own
code (``_oxpickle``'s or ``_pickle``'s shared object) or in CPython and libc
(object allocation, dict inserts, ...). Both libraries make much the same
CPython calls for the same objects, so the CPython share bounds what any
engine work can gain: even with no code of its own, a library could not be
faster than that share of pickle's count allows.

Writes benches/callgrind.md; needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "callgrind.md"
DEFAULT_WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6a", "W6b", "W7"]
# A fifth of the benchmark's sizes: large enough that per-call overheads
# vanish, small enough that each run under valgrind takes seconds.
SCALE = 0.2

# The entry point each (library, operation) is counted in, and the shared
# object whose instructions are the library's own.
ENTRY_POINTS = {
    ("oxpickle", "dumps"): "_oxpickle::api::__pyfunction_dumps*",
    ("oxpickle", "loads"): "_oxpickle::api::__pyfunction_loads*",
    ("pickle", "dumps"): "_pickle_dumps*",
    ("pickle", "loads"): "_pickle_loads*",
}
OWN_OBJECT = {"oxpickle": "_oxpickle.", "pickle": "_pickle."}

CHILD = """
import gc, pickle, sys
sys.path.insert(0, {root!r})
import oxpickle
from benches.workloads import select_workloads
[workload] = [w for w in select_workloads(None) if w.id == {workload!r}]
obj = workload.build(workload.count({scale!r}))
library = oxpickle if {library!r} == "oxpickle" else pickle
gc.disable()
if {operation!r} == "dumps":
    library.dumps(obj, protocol=5)
else:
    data = library.dumps(obj, protocol=5)
    library.loads(data)
"""


@dataclass(frozen=True)
class Count:
    total: int
    own: int  # inside the library's own shared object

    @property
    def cpython(self) -> int:
        return self.total - self.own


def parse_self_costs(path: Path) -> dict[str, int]:
    """Instructions by shared object, from a callgrind output file: each
    function's self cost, the inclusive cost lines after ``calls=`` left out."""
    names: dict[str, str] = {}
    by_object: dict[str, int] = defaultdict(int)
    current = "?"
    skip_next = False
    for line in path.read_text(errors="replace").splitlines():
        if skip_next:
            skip_next = False
            continue
        if line.startswith(("ob=", "cob=")):
            # Objects are numbered at first mention, in ob= or cob= lines.
            match = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line)
            ident, name = match.groups() if match else (line, line.split("=", 1)[1])
            if name:
                names[ident] = name
            if line.startswith("ob="):
                current = names.get(ident, "?")
        elif line.startswith("calls="):
            skip_next = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                by_object[current] += int(fields[1])
    return by_object


def measure(workload: str, library: str, operation: str) -> Count:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        code = CHILD.format(
            root=str(BENCH_DIR.parent),
            workload=workload,
            scale=SCALE,
            library=library,
            operation=operation,
        )
        # Loads count only the loads: the dumps that made the stream is
        # another call of the same library, outside the toggled function.
        entry = ENTRY_POINTS[(library, operation)]
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--collect-atstart=no",
                f"--toggle-collect={entry}",
                sys.executable,
                "-c",
                code,
            ],
            check=True,
            capture_output=True,
            env=dict(os.environ, PYTHONHASHSEED="0"),
        )
        costs = parse_self_costs(out)
    total = sum(costs.values())
    own = sum(count for name, count in costs.items() if OWN_OBJECT[library] in Path(name).name)
    return Count(total, own)


def render(rows: list[tuple[str, str, Count, Count]]) -> str:
    lines = [
        "# Instruction counts (callgrind)",
        "",
        f"`python -m benches.callgrind` · scale {SCALE} of the benchmark sizes · "
        "release build · one call each, counted by valgrind.",
        "",
        "| workload | op | pickle | oxpickle | pickle ÷ oxpickle | oxpickle's own code "
        "| CPython share of pickle's | bound: pickle ÷ its CPython share |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for workload, operation, ours, theirs in rows:
        lines.append(
            f"| {workload} | {operation} | {theirs.total / 1e6:.1f} M | {ours.total / 1e6:.1f} M "
            f"| {theirs.total / ours.total:.2f}× | {ours.own / ours.total:.0%} "
            f"| {theirs.cpython / theirs.total:.0%} | {theirs.total / theirs.cpython:.2f}× |"
        )
    lines += [
        "",
        "The last column is the most any engine could gain over pickle on that row if it "
        "made the same CPython calls with no code of its own.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=DEFAULT_WORKLOADS)
    parser.add_argument("--ops", nargs="*", default=["dumps", "loads"])
    args = parser.parse_args(argv)
    rows = []
    for workload in args.workloads:
        for operation in args.ops:
            ours = measure(workload, "oxpickle", operation)
            theirs = measure(workload, "pickle", operation)
            rows.append((workload, operation, ours, theirs))
            print(
                f"{workload} {operation}: pickle {theirs.total:,} · oxpickle {ours.total:,} "
                f"· ratio {theirs.total / ours.total:.2f}",
                flush=True,
            )
    RESULTS.write_text(render(rows))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
