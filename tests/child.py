"""Running test code in a fresh interpreter, so that a crash, a hang or a
memory cap is a test failure instead of the end of pytest."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
# A hang watchdog only: generous, never a speed requirement.
WATCHDOG_SECONDS = 900


def run_child(code, *, timeout=WATCHDOG_SECONDS):
    """Run ``code`` in a fresh interpreter; return what it printed last as
    JSON. A crash, a hang or a non-zero exit fails the test."""
    env = dict(os.environ, PYTHONBREAKPOINT="0", PYTHONFAULTHANDLER="1")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=TESTS_DIR,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"child hung for {timeout}s; stderr:\n{exc.stderr}")
    if proc.returncode < 0:
        pytest.fail(f"child crashed with signal {-proc.returncode}; stderr:\n{proc.stderr}")
    assert proc.returncode == 0, f"child exited with {proc.returncode}; stderr:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def nested(kind, depth):
    """A list, dict or tuple nested ``depth`` deep around None (for children,
    which import it from here: they run in this directory)."""
    wrap = {
        "list": lambda inner: [inner],
        "dict": lambda inner: {"k": inner},
        "tuple": lambda inner: (inner,),
    }[kind]
    obj = None
    for _ in range(depth):
        obj = wrap(obj)
    return obj
