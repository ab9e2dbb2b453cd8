"""How oxpickle and two other pickle scanners fare on the hostile streams
of tests/hostile_streams.py: a Markdown table with one row per family of
streams, giving how many streams restricted loading refuses under each
allowlist profile and how many each scanner flags, then the streams each
one lets through.

Run it from the repository root with the project's interpreter:

    .venv/bin/python tools/hostile_table.py

picklescan is imported from that environment. fickling runs in an
interpreter of its own, so the project's environment stays as it is:

    python -m venv /tmp/fickling-venv
    /tmp/fickling-venv/bin/pip install 'fickling==0.1.*' typing_extensions

(fickling 0.1.12 imports typing_extensions without requiring it). Set
FICKLING_PYTHON to use another interpreter; without one, the fickling
column says "not installed".

What counts: restricted loading refuses a stream when
``oxpickle.loads(pickle, allow=[profile])`` raises UnpicklingError without
the payload having run. ``python -m oxpickle scan`` flags a file when it
calls a pickle in it unknown or dangerous. picklescan flags a file when
``scan_file_path`` reports a dangerous global (its command line exits 1);
a scan error alone is not a flag. fickling flags a file when its safety
check rates a pickle above "likely safe" (``fickling --check-safety``
exits 1). fickling reads no .npy files, so it is given the array's pickle
on its own. The scanners only read the files; nothing here unpickles them
but oxpickle's restricted loader.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections import defaultdict
from importlib import metadata
from pathlib import Path

import oxpickle
from oxpickle._oxpickle import allowlist_profiles
from oxpickle.cli import main as oxpickle_main
from picklescan.scanner import scan_file_path

# The catalog lives with the tests that use it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from hostile_streams import (  # noqa: E402
    HOSTILE,
    NUMPY_LOAD,
    ZIP_DATA_PKL,
    Hostile,
    pickle_part,
    write_file,
)

FICKLING_PYTHON = os.environ.get("FICKLING_PYTHON", "/tmp/fickling-venv/bin/python")
FICKLING_TIMEOUT = 600

# Run by fickling's interpreter: reads [[path, is_zip], ...] on stdin and
# prints fickling's version and whether it flags each path.
FICKLING_SCRIPT = """
import json, sys
from importlib import metadata
from fickling.analysis import Severity
from fickling.loader import scan_file, scan_zip_archive

def results(path, is_zip):
    if is_zip:
        return scan_zip_archive(path, graceful=True).values()
    return [scan_file(path, graceful=True)]

flagged = {
    path: any(result.severity > Severity.LIKELY_SAFE for result in results(path, is_zip))
    for path, is_zip in json.load(sys.stdin)
}
print(json.dumps({"version": metadata.version("fickling"), "flagged": flagged}))
"""

# A stream's outcome per column: refused or flagged, or None where the
# tool is missing.
Outcome = bool | None


def refused(hostile: Hostile, path: Path, marker: Path, profile: str) -> bool:
    try:
        oxpickle.loads(pickle_part(path.read_bytes(), hostile.consumer), allow=[profile])
    except pickle.UnpicklingError:
        return not marker.exists()
    return False


def oxpickle_flags(path: Path) -> bool:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        oxpickle_main(["scan", "--json", str(path)])
    statuses = {result["status"] for result in json.loads(out.getvalue())["results"]}
    return bool(statuses & {"unknown", "dangerous"})


def picklescan_flags(path: Path) -> bool:
    return scan_file_path(str(path)).issues_count > 0


def fickling_target(hostile: Hostile, path: Path) -> tuple[Path, bool]:
    """What fickling is given for a stream's file, and whether it is a zip."""
    if hostile.consumer == NUMPY_LOAD:
        array_pickle = path.with_suffix(".pkl")
        array_pickle.write_bytes(pickle_part(path.read_bytes(), hostile.consumer))
        return array_pickle, False
    return path, hostile.consumer == ZIP_DATA_PKL


def fickling_flags(targets: list[tuple[Path, bool]], workdir: Path) -> tuple[str, list[Outcome]]:
    """The fickling column's title and its verdict on each target; "not
    installed" and no verdicts when there is no fickling to run."""
    if not Path(FICKLING_PYTHON).exists():
        return "fickling", [None] * len(targets)
    request = json.dumps([[str(path), is_zip] for path, is_zip in targets])
    # In a directory of its own: fickling may write safety_results.json.
    proc = subprocess.run(
        [FICKLING_PYTHON, "-c", FICKLING_SCRIPT],
        input=request,
        capture_output=True,
        text=True,
        timeout=FICKLING_TIMEOUT,
        cwd=workdir,
        check=True,
    )
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    return f"fickling {answer['version']}", [answer["flagged"][str(path)] for path, _ in targets]


def main() -> None:
    logging.getLogger("picklescan").disabled = True
    profiles = [profile[0] for profile in allowlist_profiles()]
    columns = [f'allow="{profile}"' for profile in profiles]
    columns += ["oxpickle scan", f"picklescan {metadata.version('picklescan')}"]
    outcomes: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        fickling_targets = []
        for index, hostile in enumerate(HOSTILE):
            directory = workdir / str(index)
            directory.mkdir()
            marker = directory / "marker"
            path = write_file(hostile, directory, str(marker))
            row: list[Outcome] = [refused(hostile, path, marker, profile) for profile in profiles]
            row += [oxpickle_flags(path), picklescan_flags(path)]
            outcomes[hostile.name] = row
            fickling_targets.append(fickling_target(hostile, path))
        fickling_column, fickling_verdicts = fickling_flags(fickling_targets, workdir)
    columns.append(fickling_column)
    for hostile, verdict in zip(HOSTILE, fickling_verdicts, strict=True):
        outcomes[hostile.name].append(verdict)
    print_table(columns, outcomes)


def print_table(columns: list[str], outcomes: dict[str, list[Outcome]]) -> None:
    families: dict[str, list[Hostile]] = defaultdict(list)
    for hostile in HOSTILE:
        families[hostile.family].append(hostile)
    print("| family (streams) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for family, members in [*families.items(), ("**all**", list(HOSTILE))]:
        cells = []
        for column in range(len(columns)):
            results = [outcomes[hostile.name][column] for hostile in members]
            hits = sum(bool(result) for result in results)
            cells.append("not installed" if None in results else f"{hits}/{len(members)}")
        print(f"| {family} ({len(members)}) | " + " | ".join(cells) + " |")
    print()
    for column, title in enumerate(columns):
        results = {name: row[column] for name, row in outcomes.items()}
        if None in results.values():
            continue
        missed = ", ".join(f"`{name}`" for name, result in results.items() if not result)
        verb = "not refused" if title.startswith("allow=") else "not flagged"
        print(f"- {title}, {verb}: {missed or 'none'}")


if __name__ == "__main__":
    main()
