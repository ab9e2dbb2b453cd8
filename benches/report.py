"""The run's results: data model, Markdown table, JSON, and the README section."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benches import versions
from benches.outcome import FAILED, NOT_APPLICABLE, OK, Outcome
from benches.timing import COLLECTOR_OFF, median_ns

OPERATIONS = (
    "dumps",
    "dumps" + COLLECTOR_OFF,
    "loads",
    "loads" + COLLECTOR_OFF,
    "copy",
)
BASELINES = ("pickle", "cloudpickle")
README_START, README_END = "<!-- bench-table -->", "<!-- /bench-table -->"


@dataclass
class WorkloadResult:
    id: str
    title: str
    count: int
    rounds: int
    build_seconds: float
    seconds: float  # the whole workload: build, check, rounds, memory
    outcomes: list[Outcome] = field(default_factory=list)

    def baseline_median(self, library: str, operation: str) -> float | None:
        for outcome in self.outcomes:
            # The baseline is the library's own row, never the cross-load row.
            if outcome.label == library and outcome.samples_ns.get(operation):
                return median_ns(outcome.samples_ns[operation])
        return None

    def speedup(self, outcome: Outcome, operation: str, baseline: str) -> float | None:
        """baseline's median / this row's median: above 1 means faster than baseline."""
        theirs = self.baseline_median(baseline, operation)
        samples = outcome.samples_ns.get(operation)
        if theirs is None or not samples or outcome.library == "reference":
            return None
        return theirs / median_ns(samples)


@dataclass
class RunResult:
    meta: dict[str, Any]
    workloads: list[WorkloadResult] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [
            f"{w.id} {o.label}: {o.note}"
            for w in self.workloads
            for o in w.outcomes
            if o.status == FAILED
        ]


# --- formatting -----------------------------------------------------------------


def format_microseconds(nanoseconds: float) -> str:
    return f"{nanoseconds / 1e3:,.1f} µs"


def format_duration(nanoseconds: float) -> str:
    if nanoseconds < 1e3:
        return f"{nanoseconds:.0f} ns"
    if nanoseconds < 1e6:
        value, unit = nanoseconds / 1e3, "µs"
    elif nanoseconds < 1e9:
        value, unit = nanoseconds / 1e6, "ms"
    else:
        value, unit = nanoseconds / 1e9, "s"
    return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


def format_bytes(size: int | None) -> str:
    if size is None:
        return "—"
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def format_speedup(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _size_cell(outcome: Outcome) -> str:
    if outcome.out_of_band_bytes is None:
        return format_bytes(outcome.size_bytes)
    return f"{format_bytes(outcome.size_bytes)} + {format_bytes(outcome.out_of_band_bytes)} OOB"


# --- Markdown -------------------------------------------------------------------

_HEADER = (
    "| op | library | median | speedup vs pickle (pickle ÷ this) "
    "| speedup vs cloudpickle (cloudpickle ÷ this) | output size "
    "| dumps peak RSS growth | dumps peak traced |\n"
    "|---|---|--:|--:|--:|--:|--:|--:|"
)


def _median_cell(outcome: Outcome, samples: list[int]) -> str:
    median = median_ns(samples)
    if outcome.out_of_band_bytes is not None:
        # Out of band no data moves: every row in µs, so the scale is plain to see.
        return format_microseconds(median)
    return format_duration(median)


def _row(workload: WorkloadResult, outcome: Outcome, operation: str) -> str:
    if outcome.status != OK:
        mark = "n/a" if outcome.status == NOT_APPLICABLE else "**FAILED**"
        return f"| {operation} | {outcome.label} | {mark} | | | | | |"
    samples = outcome.samples_ns[operation]
    is_dumps = operation.startswith("dumps")
    cells = [
        operation,
        outcome.label,
        _median_cell(outcome, samples),
        format_speedup(workload.speedup(outcome, operation, "pickle")),
        format_speedup(workload.speedup(outcome, operation, "cloudpickle")),
        _size_cell(outcome) if operation != "copy" else "—",
        format_bytes(outcome.rss_peak_bytes) if is_dumps else "—",
        format_bytes(outcome.traced_peak_bytes) if is_dumps else "—",
    ]
    return "| " + " | ".join(cells) + " |"


def _is_library_row(outcome: Outcome) -> bool:
    """A library on its own output (not the cross-load row nor a reference)."""
    return outcome.label == outcome.library


def _rows_for(workload: WorkloadResult, operation: str) -> list[str]:
    rows = []
    for outcome in workload.outcomes:
        measured = operation in outcome.samples_ns
        # n/a and failed libraries keep their line under dumps and loads, so every
        # table lists every library; the reason is in the notes below the table.
        missing = outcome.status != OK and _is_library_row(outcome)
        if measured or (missing and operation in ("dumps", "loads")):
            rows.append(_row(workload, outcome, operation))
    return rows


def _notes(workload: WorkloadResult) -> list[str]:
    notes = []
    for outcome in workload.outcomes:
        if outcome.status == NOT_APPLICABLE:
            notes.append(f"n/a: {outcome.label}: {outcome.note}.")
        elif outcome.status == FAILED:
            notes.append(f"**FAILED**: {outcome.label}: {outcome.note}")
    return notes


def _rounds_note(workload: WorkloadResult) -> str:
    """The heading's round count, with the libraries that stopped early: "40 rounds (dill 5)"."""
    fewer = []
    for outcome in workload.outcomes:
        samples = max((len(s) for s in outcome.samples_ns.values()), default=workload.rounds)
        if samples < workload.rounds:
            fewer.append(f"{outcome.label} {samples}")
    return f"{workload.rounds} rounds" + (f" ({', '.join(fewer)})" if fewer else "")


def render_workload(workload: WorkloadResult) -> str:
    lines = [f"**{workload.title}**, {_rounds_note(workload)}", "", _HEADER]
    for operation in OPERATIONS:
        lines += _rows_for(workload, operation)
    notes = _notes(workload)
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines)


def _load_note(meta: dict[str, Any]) -> str:
    start, end = meta.get("load_average_at_start"), meta.get("load_average_1min")
    if start is None or end is None:
        return "load average unknown"
    note = f"1-min load average {start:.1f} at start, {end:.1f} at end"
    if max(start, end) > 0.5 * meta["nproc"]:
        # Say so in the table itself: other work on the CPUs makes samples noisy.
        note += " (**busy machine: expect noise**)"
    return note


def render_preamble(meta: dict[str, Any]) -> str:
    libraries = " · ".join(f"{name} {version}" for name, version in meta["libraries"].items())
    return "\n".join(
        [
            f"Measured {meta['date']} on {meta['nproc']} × {meta['cpu']} "
            f"({meta['memory']} RAM), {meta['os']}, {meta['python']}; "
            f"numpy {meta['numpy']}, pandas {meta['pandas']}.",
            f"Mode: **{meta['mode']}** (sizes × {meta['scale']:g}); total {meta['seconds']:.0f} s; "
            f"{_load_note(meta)}.",
            f"Libraries: {libraries}.",
            "",
            "Each cell is the median of the timed rounds; every round runs every library "
            "once, in rotating order, in one process (methodology: `benches/README.md`). "
            "*speedup vs X* is X's median ÷ this row's median: above 1 means faster than X. "
            "loads rows load each library's own output. dumps and loads run with the "
            "collector on, as a program has it, so the collections a call triggers on the "
            "objects it makes are its cost; the *collector off* rows time the same calls "
            "with it disabled. Peak memory is measured on dumps: "
            "RSS growth at its peak (sees Rust allocations) and tracemalloc's peak "
            "(Python allocations only).",
        ]
    )


def render_markdown(run: RunResult) -> str:
    """The body shared by results.md and the README section (no top-level heading)."""
    sections = [render_preamble(run.meta), *(render_workload(w) for w in run.workloads)]
    return "\n\n".join(sections) + "\n"


# --- files ----------------------------------------------------------------------


def _outcome_json(workload: WorkloadResult, outcome: Outcome) -> dict[str, Any]:
    data = asdict(outcome)
    data["operations"] = {
        operation: {
            "median_ns": median_ns(samples),
            "min_ns": min(samples),
            "max_ns": max(samples),
            "speedup_vs_pickle": workload.speedup(outcome, operation, "pickle"),
            "speedup_vs_cloudpickle": workload.speedup(outcome, operation, "cloudpickle"),
        }
        for operation, samples in outcome.samples_ns.items()
    }
    return data


def to_json(run: RunResult) -> str:
    document = {
        "meta": run.meta,
        "workloads": [
            {
                "id": w.id,
                "title": w.title,
                "count": w.count,
                "rounds": w.rounds,
                "build_seconds": w.build_seconds,
                "seconds": w.seconds,
                "results": [_outcome_json(w, o) for o in w.outcomes],
            }
            for w in run.workloads
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_results(run: RunResult, directory: Path) -> tuple[Path, Path]:
    """Writes results.md and results.json; results.md keeps the lines other
    CPython versions' runs left in its per-version block."""
    directory.mkdir(parents=True, exist_ok=True)
    markdown_path, json_path = directory / "results.md", directory / "results.json"
    title = "# oxpickle benchmark results\n\n"
    note = "<!-- generated by `make bench` (python -m benches.run); do not edit -->\n\n"
    earlier = markdown_path.read_text(encoding="utf-8") if markdown_path.exists() else ""
    text = title + note + render_markdown(run)
    for line in versions.lines_in(earlier):
        text = versions.with_line(text, line)
    text = versions.with_line(text, versions.summary_line(run))
    markdown_path.write_text(text, encoding="utf-8")
    json_path.write_text(to_json(run), encoding="utf-8")
    return markdown_path, json_path


def update_readme(readme: Path, body: str) -> bool:
    """Replace the text between the bench-table markers; False if they are absent."""
    if not readme.exists():
        return False
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        return False
    replacement = f"{README_START}\n{body}{README_END}"
    readme.write_text(pattern.sub(lambda _match: replacement, text, count=1), encoding="utf-8")
    return True
