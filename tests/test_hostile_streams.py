"""The published bypasses of tests/hostile_streams.py, each checked three
ways: the standard library, loading it as its real consumer does, runs the
payload (in a child process); restricted loading refuses it under every
profile without running it, from bytes and from a file; the scanner does
not call it safe under any profile."""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import time
import zipfile
from pathlib import Path

import oxpickle
import pytest
from child import run_child
from hostile_streams import (
    FRAMES,
    HOSTILE,
    NONE,
    NUMPY_LOAD,
    UNPICKLER_BYTESIO,
    ZIP_DATA_PKL,
    Hostile,
    checkpoint_member,
    npy_data_offset,
    pickle_part,
    straddling,
    write_file,
)
from oxpickle._oxpickle import allowlist_profiles, scan
from oxpickle.cli import main

CHILD_TIMEOUT = 60
# Payloads that start a process can return before the process has written
# the marker.
MARKER_WAIT = 20
PROFILES = [profile[0] for profile in allowlist_profiles()]
NAMES = [hostile.name for hostile in HOSTILE]
FLAGGED = {"unknown", "dangerous"}
# The scanner is checked with no profile and with each profile in effect.
ALLOW_CHOICES = [[], *([profile] for profile in PROFILES)]


def wait_for(marker: Path) -> bool:
    deadline = time.monotonic() + MARKER_WAIT
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return marker.exists()


def stdlib_reads_past_frames() -> bool:
    """Whether this CPython's C unpickler reads a file on past the end of a
    FRAME, as it did before gh-154848 was fixed."""
    probe = straddling(b"", NONE)
    try:
        return pickle.Unpickler(io.BytesIO(probe)).load() != pickle.loads(probe)
    except pickle.UnpicklingError:
        return False


def skip_where_it_cannot_run(hostile: Hostile) -> None:
    if hostile.consumer == NUMPY_LOAD:
        pytest.importorskip("numpy", reason="numpy.load needs NumPy")
    for module in hostile.needs:
        pytest.importorskip(module, reason=f"this CPython has no {module}")
    if hostile.family == FRAMES and not stdlib_reads_past_frames():
        pytest.skip("this CPython refuses instructions that cross a FRAME's end (gh-154848)")


@pytest.mark.parametrize("hostile", HOSTILE, ids=NAMES)
def test_the_stdlib_runs_it(hostile, tmp_path):
    skip_where_it_cannot_run(hostile)
    marker = tmp_path / "marker"
    path = write_file(hostile, tmp_path, str(marker))
    outcome = run_child(
        f"""
        import json
        from pathlib import Path

        import hostile_streams

        try:
            hostile_streams.load_as_consumer(Path({str(path)!r}), {hostile.consumer!r})
            outcome = "loaded"
        except Exception as exc:  # broken streams raise after their payload ran
            outcome = f"{{type(exc).__name__}}: {{exc}}"
        print(json.dumps(outcome))
        """,
        timeout=CHILD_TIMEOUT,
    )
    assert wait_for(marker), f"the payload did not run; the load ended with: {outcome}"


def load_restricted_from_file(path: Path, hostile: Hostile, profile: str) -> object:
    """oxpickle reading the file the way the stream's consumer reads it."""
    if hostile.consumer == UNPICKLER_BYTESIO:
        return oxpickle.Unpickler(io.BytesIO(path.read_bytes()), allow=[profile]).load()
    if hostile.consumer == ZIP_DATA_PKL:
        with zipfile.ZipFile(path) as archive, archive.open(checkpoint_member(archive)) as member:
            return oxpickle.load(member, allow=[profile])
    with open(path, "rb") as file:
        if hostile.consumer == NUMPY_LOAD:
            file.seek(npy_data_offset(path.read_bytes()))
        return oxpickle.load(file, allow=[profile])


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("hostile", HOSTILE, ids=NAMES)
def test_restricted_loading_refuses_it(hostile, profile, tmp_path):
    marker = tmp_path / "marker"
    path = write_file(hostile, tmp_path, str(marker))
    # UnsafePickleError, for a global off the allowlist, is an UnpicklingError.
    with pytest.raises(pickle.UnpicklingError):
        oxpickle.loads(pickle_part(path.read_bytes(), hostile.consumer), allow=[profile])
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        load_restricted_from_file(path, hostile, profile)
    assert not marker.exists()


def scan_command_statuses(path: Path, allow: list[str]) -> list[str]:
    """`python -m oxpickle scan --json`, which reads zip and .npy files: the
    status of each pickle it found."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["scan", "--json", *(f"--allow={profile}" for profile in allow), str(path)])
    return [result["status"] for result in json.loads(out.getvalue())["results"]]


@pytest.mark.parametrize("allow", ALLOW_CHOICES, ids=["no-profile", *PROFILES])
@pytest.mark.parametrize("hostile", HOSTILE, ids=NAMES)
def test_scan_flags_it(hostile, allow, tmp_path):
    path = write_file(hostile, tmp_path, str(tmp_path / "marker"))
    if hostile.consumer in (NUMPY_LOAD, ZIP_DATA_PKL):
        statuses = scan_command_statuses(path, allow)
        assert statuses and set(statuses) <= FLAGGED, statuses
    else:
        report = scan(path.read_bytes(), allow)
        assert report["verdict"] in FLAGGED, report
