"""Run cloudpickle's own test suite against oxpickle (``make test-cloudpickle``).

The suite is third-party code and stays where it is (``--suite``, by default
``../shared/conformance/cloudpickle``); nothing of it is copied here. It
imports ``cloudpickle``, and so do the child interpreters it starts with a
``PYTHONPATH`` of its own. So the run uses a small virtual environment over
the project's ``.venv`` whose one ``.pth`` file puts the shim package
(``shim/cloudpickle``, which maps cloudpickle's public API onto oxpickle)
ahead of everything else on ``sys.path``; ``sys.executable`` is that
environment's Python, so every child sees the shim too.

It runs the suite twice, with oxpickle's default and deterministic dumps.
Each run fails on any failure except the tests ``not_applicable.py`` lists
for it, and on a listed test that no longer exists. ``--coverage`` writes
the results table (``tests/BYVALUE_COVERAGE.md``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
import venv
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from not_applicable import BYTE_IDENTITY, NOT_APPLICABLE

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHIM = HERE / "shim"
#: The suite as a whole may take this long; its own child processes time
#: out after 60 s each.
SUITE_TIMEOUT_S = 1200


@dataclass(frozen=True)
class Outcome:
    test_id: str
    result: str  # "passed", "failed", "skipped" or "not applicable"
    detail: str


def make_lens_venv(target: Path, suite: Path) -> Path:
    """A venv whose Python sees the shim first, then the project's .venv."""
    venv.create(target, with_pip=False, clear=True, symlinks=True)
    site_packages = Path(
        sysconfig.get_path("purelib", vars={"base": str(target), "platbase": str(target)})
    )
    suite_pkg = suite / "tests" / "cloudpickle_testpkg"
    main_site = sysconfig.get_path("purelib")
    # One line: a .pth line that starts with `import` is run as code.
    (site_packages / "00-oxpickle-as-cloudpickle.pth").write_text(
        "import sys, site; "
        f"sys.path.insert(0, {str(SHIM)!r}); "
        f"site.addsitedir({main_site!r}); "
        f"sys.path.append({str(suite_pkg)!r})\n"
    )
    return target / "bin" / "python"


def run_suite(
    python: Path, junit: Path, log: Path, suite: Path, pytest_args: list[str], mode: str
) -> int:
    command = [
        str(python),
        "-m",
        "pytest",
        str(suite / "tests"),
        "--rootdir",
        str(suite),
        "-c",
        str(HERE / "pytest.ini"),
        "-p",
        "no:cacheprovider",
        # Without capture, as cloudpickle's own test of sys.stdout asks:
        # pytest's capture puts a stream of its own there.
        "-s",
        f"--junitxml={junit}",
        "-q",
        "--tb=line",
        "-rN",
        *pytest_args,
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["OXPICKLE_CLOUDPICKLE_MODE"] = mode
    # pytest's own output goes to a log: its closing line counts the
    # not-applicable failures, and this script's closing line is the verdict.
    with log.open("w") as out:
        completed = subprocess.run(
            command,
            cwd=suite,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=SUITE_TIMEOUT_S,
        )
    return completed.returncode


def read_outcomes(junit: Path) -> list[Outcome]:
    outcomes = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").removeprefix("tests.")
        test_id = f"{module}::{case.get('name')}".replace(".", "::", 1)
        result, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                first_line = (child.get("message") or "").partition("\n")[0]
                result, detail = "failed", first_line or child.tag
            elif child.tag == "skipped":
                result, detail = "skipped", child.get("message") or ""
        outcomes.append(Outcome(test_id, result, detail))
    return outcomes


MODES = ("default", "deterministic")


def judge(outcomes: list[Outcome], mode: str) -> tuple[list[Outcome], list[str]]:
    """Outcomes with the not-applicable ones marked, and what fails the run."""
    problems = []
    judged = []
    seen = {o.test_id for o in outcomes}
    for stale in sorted((set(NOT_APPLICABLE) | BYTE_IDENTITY) - seen):
        problems.append(f"{stale}: listed in not_applicable.py but not in the suite")
    for outcome in outcomes:
        reason = NOT_APPLICABLE.get(outcome.test_id)
        if reason is not None:
            judged.append(Outcome(outcome.test_id, "not applicable", reason))
        elif mode == "default" and outcome.test_id in BYTE_IDENTITY:
            judged.append(
                Outcome(outcome.test_id, f"{outcome.result} (byte identity)", outcome.detail)
            )
        else:
            judged.append(outcome)
            if outcome.result == "failed":
                problems.append(f"{outcome.test_id}: {outcome.detail}")
    return judged, problems


def summary(judged: list[Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in judged:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    return ", ".join(f"{count} {result}" for result, count in sorted(counts.items()))


def write_coverage(runs: dict[str, list[Outcome]], path: Path) -> None:
    lines = [
        "# cloudpickle's test suite, run against oxpickle",
        "",
        "Written by `make test-cloudpickle` (`tests/cloudpickle_suite/run.py`); do not edit.",
        "Every test of cloudpickle's own suite (the 3.1.3 release's tests), run with oxpickle",
        "behind cloudpickle's public API: once as `oxpickle.dumps` (default) and once as",
        "`oxpickle.dumps(deterministic=True)`. *Not applicable*: tests of cloudpickle's",
        "private code; *byte identity*: tests that compare two processes' bytes, which only",
        "deterministic mode promises. Both are listed with their reasons in",
        "`tests/cloudpickle_suite/not_applicable.py`.",
        "",
    ]
    for mode, judged in runs.items():
        lines.append(f"- {mode}, Python {sys.version.split()[0]}: {summary(judged)}")
    lines += [
        "",
        "| test | " + " | ".join(runs) + " | note |",
        "|---|" + "---|" * len(runs) + "---|",
    ]
    by_mode = {mode: {o.test_id: o for o in judged} for mode, judged in runs.items()}
    first = next(iter(runs.values()))
    for outcome in first:
        cells = [
            by_mode[mode][outcome.test_id].result
            for mode in runs
            if outcome.test_id in by_mode[mode]
        ]
        notes = {by_mode[m][outcome.test_id].detail for m in runs if outcome.test_id in by_mode[m]}
        note = "; ".join(sorted(n for n in notes if n)).replace("|", "\\|")
        lines.append(f"| `{outcome.test_id}` | " + " | ".join(cells) + f" | {note} |")
    path.write_text("\n".join(lines) + "\n")


def run_mode(mode: str, args: argparse.Namespace) -> tuple[list[Outcome], list[str]] | None:
    with tempfile.TemporaryDirectory(prefix="oxpickle-cloudpickle-") as scratch:
        python = make_lens_venv(Path(scratch) / "venv", args.suite)
        junit, log = Path(scratch) / "junit.xml", Path(scratch) / "pytest.log"
        returncode = run_suite(python, junit, log, args.suite, args.pytest_args, mode)
        if not junit.exists():
            print(log.read_text()[-5000:])
            print(f"cloudpickle suite ({mode}): pytest exited {returncode} without results")
            return None
        judged, problems = judge(read_outcomes(junit), mode)
        if problems:
            print(f"---- pytest's output ({mode}), last lines ----")
            print(log.read_text()[-5000:])
        return judged, problems


def main(args: argparse.Namespace) -> int:
    runs: dict[str, list[Outcome]] = {}
    # Unexpected failures, stale list entries and runs that gave no results.
    failing = 0
    for mode in args.modes:
        result = run_mode(mode, args)
        if result is None:
            failing += 1
            continue
        judged, problems = result
        runs[mode] = judged
        for problem in problems:
            print(f"FAIL ({mode}) {problem}")
        failing += len(problems)
    if args.coverage and runs:
        write_coverage(runs, args.coverage)
    for mode, judged in runs.items():
        print(f"cloudpickle suite against oxpickle ({mode}): {summary(judged)}")
    every = [outcome for judged in runs.values() for outcome in judged]
    passed = sum(o.result == "passed" for o in every)
    skipped = sum(o.result == "skipped" for o in every)
    not_counted = sum(o.result not in ("passed", "failed", "skipped") for o in every)
    print(f"(not counted: {not_counted} not applicable or byte identity in the default run)")
    print(f"cloudpickle-suite: {passed} passed, {failing} failed, {skipped} skipped")
    return 1 if failing else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--suite",
        type=lambda p: Path(p).resolve(),
        default=REPO.parent / "shared" / "conformance" / "cloudpickle",
        help="the folder holding cloudpickle's tests/ (default: ../shared/conformance/cloudpickle)",
    )
    parser.add_argument(
        "--coverage", type=Path, default=None, help="write the results table here (markdown)"
    )
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="the runs to make"
    )
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if not (arguments.suite / "tests" / "cloudpickle_test.py").exists():
        sys.exit(f"cloudpickle's suite is not at {arguments.suite}; pass --suite PATH")
    sys.exit(main(arguments))
