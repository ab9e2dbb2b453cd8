"""Builds oxpickle and runs the whole test suite on every supported CPython.

    python tools/matrix/run.py --cache DIR [--versions 3.11 3.12 ...]

Where each interpreter comes from:

* 3.11 is the project's own ``.venv`` (``make test`` builds it; the Makefile
  builds it before calling this).
* 3.12 and 3.13 are the machine's (``python3.12`` on PATH, or a pyenv build).
* 3.14 and 3.15 are Debian unstable's packages, in a root that
  ``sid-root.sh`` makes under DIR once per machine; builds and tests there
  run chrooted (``in-root.sh``).

Each version gets a virtual environment in DIR holding requirements-dev.txt
(remade when that file changes), a build of the extension in its own cargo
target folder beside it (so a fresh clone compiles only the project's own
crates), clippy on the extension's code as that version's cfgs select it,
and pytest, whose reports go to ``target/matrix/<version>``. A version that
cannot be found, built
or tested fails the run: by default every supported version is run, so
the matrix never passes with one missing.
Then every version pickles samples (data, and code by value) and every
version loads what each one made (``cross_version.py``): data must load
anywhere, code by value only where it was made, and elsewhere fail with the
error that names both versions.
The closing table gives each version's pytest counts and those of CPython's
own pickle suite (tests/test_cpython_suite.py) within them, and the
cross-version loads; it is also written to target/matrix/summary.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SUPPORTED = ("3.11", "3.12", "3.13", "3.14", "3.15")
# Versions taken from Debian unstable's root rather than the machine.
FROM_ROOT = ("3.14", "3.15")
# Inside the root, where the virtual environments live.
ROOT_VENVS = Path("/opt/oxpickle")
# One version's tests (about 3,000, a CPython suite among them) take a few
# minutes; this bounds a hung run.
PYTEST_TIMEOUT = 40 * 60


class LegFailed(Exception):
    """A version could not be set up, built or tested."""


@dataclasses.dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


@dataclasses.dataclass
class Result:
    version: str
    interpreter: str = ""
    tests: Counts | None = None
    cpython_suite: Counts | None = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error and self.tests is not None and self.tests.failed == 0


class Leg:
    """One interpreter: where it runs, and its environment."""

    def __init__(self, version: str, cache: Path):
        self.version = version
        self.cache = cache
        # Reports (junit, logs, bench results) go in the project...
        self.target = PROJECT / "target" / "matrix" / version
        self.in_root = version in FROM_ROOT
        # ...builds beside the venv, in the cache, so that a fresh clone
        # (CI's) compiles only the project's crates, not their dependencies.
        if version == "3.11":
            self.venv = PROJECT / ".venv"
            self.cargo_target = PROJECT / "target"
        elif self.in_root:
            self.venv = ROOT_VENVS / f"venv-{version}"
            self.cargo_target = ROOT_VENVS / f"cargo-target-{version}"
        else:
            self.venv = cache / f"venv-{version}"
            self.cargo_target = cache / f"cargo-target-{version}"

    @property
    def root(self) -> Path:
        return self.cache / "sid-root"

    def run(self, command: list[str], env: dict[str, str] | None = None, **kwargs):
        """Runs `command` where this version lives: on the host, or chrooted
        (with `env` passed through ``env``, since the root starts clean)."""
        env = env or {}
        if self.in_root:
            assignments = [f"{key}={value}" for key, value in env.items()]
            command = [str(HERE / "in-root.sh"), str(self.root), "env", *assignments, *command]
            return subprocess.run(command, cwd=PROJECT, **kwargs)
        return subprocess.run(command, cwd=PROJECT, env={**os.environ, **env}, **kwargs)

    def check(self, what: str, command: list[str], env: dict[str, str] | None = None) -> str:
        """Runs a step; its output is returned, and on failure shown."""
        done = self.run(command, env, capture_output=True, text=True)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip().splitlines()
            raise LegFailed(f"{what} failed (exit {done.returncode}):\n" + "\n".join(output[-40:]))
        return done.stdout

    def interpreter(self) -> str:
        """The base interpreter's path, where this leg runs it."""
        name = f"python{self.version}"
        if self.in_root:
            return f"/usr/bin/{name}"
        pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
        builds = sorted(pyenv.glob(f"{self.version}.*/bin/{name}"))
        if builds:
            return str(builds[-1])
        found = shutil.which(name)
        # A pyenv shim is on PATH for every version pyenv knows, built or not.
        if found and "/shims/" not in found:
            return found
        raise LegFailed(
            f"no CPython {self.version} on this machine: put {name} on PATH "
            f"(for example `pyenv install {self.version}`)"
        )

    def prepare(self) -> str:
        """Makes sure the environment exists, is current, and holds a build
        that clippy passes."""
        python = self.environment()
        if self.version == "3.11":
            # The Makefile's build target made it.
            return python
        self.build("dev-opt")
        step(f"{self.version}: clippy on the extension")
        self.check(
            "cargo clippy",
            ["cargo", "clippy", "-p", "oxpickle-py", "--all-targets", "--", "-D", "warnings"],
            {"CARGO_TARGET_DIR": str(self.cargo_target), "PYO3_PYTHON": python},
        )
        return python

    def environment(self) -> str:
        """The version's virtual environment, made or checked; its python."""
        if self.in_root:
            step(f"{self.version}: Debian unstable root")
            subprocess.run([str(HERE / "sid-root.sh"), str(self.root)], check=True)
        python = str(self.venv / "bin" / "python")
        if self.version == "3.11":
            # The Makefile made it; only check it is 3.11.
            version = self.check("reading .venv's version", [python, "-c", VERSION])
            if version.strip() != "3.11":
                raise LegFailed(f".venv runs Python {version.strip()}, not 3.11 (PYTHON=...)")
            return python
        self.ensure_venv(python)
        return python

    def build(self, profile: str) -> None:
        """Builds the extension into the venv with a cargo profile."""
        step(f"{self.version}: {profile} build ({self.cargo_target})")
        self.check(
            "maturin develop",
            [str(self.venv / "bin" / "maturin"), "develop", "--quiet", "--profile", profile],
            {"CARGO_TARGET_DIR": str(self.cargo_target), "VIRTUAL_ENV": str(self.venv)},
        )

    def ensure_venv(self, python: str) -> None:
        requirements = (PROJECT / "requirements-dev.txt").read_bytes()
        stamp_text = hashlib.sha256(requirements).hexdigest()
        stamp = self.host_path(self.venv / ".requirements-sha256")
        if stamp.exists() and stamp.read_text() == stamp_text:
            return
        step(f"{self.version}: virtual environment with requirements-dev.txt")
        shutil.rmtree(self.host_path(self.venv), ignore_errors=True)
        self.check("creating the venv", [self.interpreter(), "-m", "venv", str(self.venv)])
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        self.check("pip install pip", [*pip, "--upgrade", "pip"])
        self.check("pip install -r requirements-dev.txt", [*pip, "-r", "requirements-dev.txt"])
        stamp.write_text(stamp_text)

    def host_path(self, path: Path) -> Path:
        """`path` as the host sees it."""
        return self.root / path.relative_to("/") if self.in_root else path

    def test(self, python: str, result: Result) -> None:
        step(f"{self.version}: pytest")
        self.target.mkdir(parents=True, exist_ok=True)
        junit = self.target / "junit.xml"
        junit.unlink(missing_ok=True)
        log = self.target / "pytest.log"
        with log.open("w") as output:
            done = self.run(
                [python, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", "-q"],
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=PYTEST_TIMEOUT,
            )
        if not junit.exists():
            tail = log.read_text().strip().splitlines()[-30:]
            raise LegFailed(f"pytest wrote no report (exit {done.returncode}):\n" + "\n".join(tail))
        result.tests, result.cpython_suite = read_junit(junit)
        if done.returncode not in (0, 1):
            raise LegFailed(f"pytest exited {done.returncode}; its output is {log}")
        if result.tests.failed:
            lines = log.read_text().splitlines()
            failures = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
            print("\n".join(failures[:40]), flush=True)


VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


def read_junit(path: Path) -> tuple[Counts, Counts]:
    """All tests' outcomes, and those of CPython's own pickle suite."""
    everything, cpython = Counts(), Counts()
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            outcome = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        else:
            outcome = "passed"
        everything.add(outcome)
        if case.get("classname", "").startswith("tests.test_cpython_suite"):
            cpython.add(outcome)
    return everything, cpython


def step(text: str) -> None:
    print(f"== {text}", flush=True)


def run_leg(version: str, cache: Path) -> tuple[Result, str | None]:
    """Builds and tests one version; its venv's interpreter, once built."""
    result = Result(version)
    started = time.monotonic()
    leg = Leg(version, cache)
    python = None
    try:
        result.interpreter = leg.interpreter()
        python = leg.prepare()
        full = leg.check("reading the version", [python, "-c", "import sys; print(sys.version)"])
        result.interpreter = full.split()[0]
        leg.test(python, result)
    except LegFailed as failure:
        result.error = str(failure)
        print(f"{version}: {failure}", flush=True)
    except subprocess.SubprocessError as failure:
        result.error = f"{type(failure).__name__}: {failure}"
    result.seconds = time.monotonic() - started
    return result, python


CROSS = PROJECT / "target" / "matrix" / "cross"


def cross_version(built: dict[str, str], cache: Path) -> tuple[bool, str]:
    """Each built version dumps the samples, then each loads them all;
    whether every load behaved, and the line for the summary."""
    step(f"cross-version pickles between {', '.join(built)}")
    shutil.rmtree(CROSS, ignore_errors=True)
    script = str(HERE / "cross_version.py")
    try:
        for version, python in built.items():
            Leg(version, cache).check("cross_version.py dump", [python, script, "dump", str(CROSS)])
        outcomes, failed = [], []
        # Each version loads every file each version made.
        expected_lines = len(list(CROSS.glob("*/*.pkl")))
        for version, python in built.items():
            done = Leg(version, cache).run(
                [python, script, "load", str(CROSS)], capture_output=True, text=True
            )
            lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
            outcomes += lines
            failed += [line for line in lines if not line["ok"]]
            if done.returncode != 0 or len(lines) != expected_lines:
                failed.append(
                    {
                        "loaded by": version,
                        "error": f"exit {done.returncode}, {len(lines)} of {expected_lines} "
                        "loads reported: " + done.stderr.strip()[-2000:],
                    }
                )
    except LegFailed as failure:
        return False, f"cross-version: **{failure}**"
    if len(built) < 2:
        return False, f"cross-version: **only {', '.join(built) or 'no version'} built**"
    for line in failed:
        print(json.dumps(line), flush=True)
    foreign = sum(1 for line in outcomes if line["made by"] != line["loaded by"])
    verdict = "all as expected" if not failed else f"**{len(failed)} not as expected**"
    line = (
        f"cross-version: {len(outcomes)} loads of {len(built)} versions' pickles "
        f"({foreign} on another version than made them; data loads, code by value is "
        f"refused naming both versions): {verdict}"
    )
    return not failed, line


def summary(results: list[Result]) -> str:
    lines = [
        "| version | interpreter | tests | CPython's pickle suite | time |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        if result.tests is None:
            first = result.error.splitlines()[0] if result.error else "not run"
            lines.append(f"| {result.version} | {result.interpreter or '-'} | **{first}** | | |")
            continue
        lines.append(
            f"| {result.version} | {result.interpreter} | {result.tests} | "
            f"{result.cpython_suite} | {result.seconds:.0f} s |"
        )
    return "\n".join(lines)


def bench(version: str, cache: Path, quick: bool) -> int:
    """A release build and the benchmark runner on one version: the full
    results go to target/matrix/<version>/bench, the version's summary line
    to benches/results.md."""
    leg = Leg(version, cache)
    try:
        python = leg.environment()
        leg.build("release")
    except LegFailed as failure:
        print(f"{version}: {failure}", flush=True)
        return 1
    step(f"{version}: benchmarks")
    command = [python, "-m", "benches.run", "--out-dir", str(leg.target / "bench")]
    command += ["--version-line-to", str(PROJECT / "benches" / "results.md")]
    return leg.run([*command, *(["--quick"] if quick else [])]).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="where roots and venvs live")
    parser.add_argument("--versions", nargs="+", default=list(SUPPORTED), choices=SUPPORTED)
    parser.add_argument(
        "--bench",
        choices=SUPPORTED,
        metavar="VERSION",
        help="instead of the tests, the benchmarks on VERSION (release build)",
    )
    parser.add_argument("--quick", action="store_true", help="with --bench: a short run")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.bench:
        return bench(args.bench, args.cache.resolve(), args.quick)
    cache = args.cache.resolve()
    legs = [run_leg(version, cache) for version in args.versions]
    results = [result for result, _ in legs]
    built = {result.version: python for result, python in legs if python}
    cross_ok, cross_line = cross_version(built, cache)
    table = summary(results) + "\n\n" + cross_line
    out = PROJECT / "target" / "matrix" / "summary.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + "\n")
    print(table)
    failed = [result.version for result in results if not result.ok]
    if not cross_ok:
        failed.append("cross-version loads")
    if failed:
        print(f"test-matrix: failed on {', '.join(failed)}")
        return 1
    print(f"test-matrix: passed on {', '.join(args.versions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
