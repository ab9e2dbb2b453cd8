"""How scan results read: one line per pickle for people, or one JSON
document for programs, and the exit status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ._contents import Result

# Exit statuses: clean, something unsafe found, something not scanned.
CLEAN, UNSAFE, NOT_SCANNED = 0, 1, 2

_NOTE_WORDING = {
    "dynamic-global": "global named at load time: {}",
    "extension-code": "{}",
    "computed-call": "call of a value made at load time: {}",
    "modifies-global": "rewrites an imported object: {}",
    "persistent-id": "{}",
    "frame-violation": "breaks the frame rules, so loaders read it differently: {}",
    "refused-arguments": "arguments its allowlist rule refuses: {}",
    "planted-method": "{}",
    "version-dependent": "read differently by CPython versions: {}",
}


def exit_status(results: Sequence[Result]) -> int:
    """Unsafe findings outrank files that could not be scanned."""
    statuses = {result.status for result in results}
    if statuses & {"unknown", "dangerous"}:
        return UNSAFE
    return NOT_SCANNED if "error" in statuses else CLEAN


def result_lines(result: Result) -> list[str]:
    """The lines for one result; what came from the file (names, member
    paths) has its unprintable characters escaped, so no name can fake a
    line or drive the terminal."""
    return [_escaped(line) for line in _lines(result)]


def _lines(result: Result) -> list[str]:
    where = result.path + (f":{result.member}" if result.member else "")
    remarks = f" [{'; '.join(result.notes)}]" if result.notes else ""
    if result.status == "error" or not result.streams:
        word = "could not scan" if result.status == "error" else result.status
        return [f"{where}: {word}: {result.message}{remarks}"]
    several = len(result.streams) > 1 or result.rest or result.streams[0]["offset"] > 0
    lines = []
    for stream in result.streams:
        label = f"{where} @{stream['offset']}" if several else where
        found = [_import_text(item) for item in stream["imports"]]
        found += [_note_text(note) for note in stream["notes"]]
        text = ", ".join(found) if found else "no globals"
        if stream["error"]:
            text += f"; then the pickle breaks: {stream['error']}"
        lines.append(f"{label}: {stream['verdict']}: {text}")
    if result.rest:
        lines[-1] += f"; bytes from {result.rest['offset']} on are not a pickle"
    lines[-1] += remarks
    return lines


def summary_line(results: Sequence[Result], files: int, skipped: int) -> str:
    counts = Counter(result.status for result in results)
    pickles = sum(len(result.streams) for result in results if result.status != "error")
    passed_over = f", {skipped} other file(s) skipped" if skipped else ""
    return (
        f"{files} file(s) scanned{passed_over}; {pickles} pickle(s): "
        f"{counts['dangerous']} dangerous, {counts['unknown']} unknown, "
        f"{counts['error']} could not be scanned"
    )


def json_report(results: Sequence[Result], files: int, skipped: int) -> dict[str, Any]:
    counts = Counter(result.status for result in results)
    return {
        "results": [result.to_json() for result in results],
        "summary": {
            "files": files,
            "skipped": skipped,
            **{status: counts[status] for status in ("safe", "unknown", "dangerous", "error")},
        },
        "exit_status": exit_status(results),
    }


def _escaped(line: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def _import_text(item: dict[str, Any]) -> str:
    details = []
    if item["verdict"] == "dangerous":
        details.append(f"dangerous: {item['why']}")
    elif item["verdict"] == "unknown":
        details.append("unknown")
    if item["written"]:
        details.append(f"written {item['written']}")
    name = f"{item['module']}.{item['name']}"
    return f"{name} ({'; '.join(details)})" if details else name


def _note_text(note: dict[str, Any]) -> str:
    text = _NOTE_WORDING[note["kind"]].format(note["detail"])
    return text if note["verdict"] == "safe" else f"{text} ({note['verdict']})"
