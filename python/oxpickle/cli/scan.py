"""``scan PATH...``: what loading each pickle would import, without
importing or running anything (the Rust core's value machine reads the
streams). Exit status 0 when every pickle is safe under the allowlists in
effect, 1 when one is unknown or dangerous, else 2 when something could
not be scanned."""

from __future__ import annotations

import argparse
import json
import sys

from .._oxpickle import allowlist_profiles
from .._oxpickle import scan as native_scan
from . import _report
from ._contents import Result, failed, scan_contents
from ._walk import files_to_scan


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "scan",
        help="report the globals pickles would import, without loading them",
        description="Scan pickle files, directories (recursively), PyTorch checkpoints, "
        "NumPy .npy/.npz files and zip or 7z archives. Each pickle is safe when every "
        "global it names is allowed, dangerous when one is a known path to code, "
        "processes, files or the network, and unknown otherwise. Exit status: 0 all "
        "safe, 1 something unknown or dangerous, 2 something could not be scanned.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    profiles = "; ".join(f"{name}: {summary}" for name, summary, _ in allowlist_profiles())
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PROFILE",
        help="treat these globals as safe: a profile or a global written module.qualname "
        f"or module:qualname; repeatable. Profiles: {profiles}",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        # The native scanner checks the entries; check them before any file.
        native_scan(b"", args.allow)
    except ValueError as exc:
        print(f"error: --allow: {exc}", file=sys.stderr)
        return _report.NOT_SCANNED
    walk = files_to_scan(args.paths)
    results: list[Result] = []
    for path in walk.files:
        results.extend(scan_file(path, args.allow))
    if args.json:
        report = _report.json_report(results, len(walk.files), walk.skipped)
        print(json.dumps(report, indent=2))
    else:
        for result in results:
            for line in _report.result_lines(result):
                print(line)
        print(_report.summary_line(results, len(walk.files), walk.skipped))
    return _report.exit_status(results)


def scan_file(path: str, allow: list[str]) -> list[Result]:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        return [failed(path, None, f"cannot read: {exc.strerror or exc}")]
    return scan_contents(path, data, allow)
