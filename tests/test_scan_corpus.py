"""``python -m oxpickle scan`` over picklescan's corpus of malicious, benign
and broken files: every malicious file is unsafe (exit 1, and labelled
dangerous), every benign file clean (exit 0), every non-pickle reported as
such (exit 2).

The corpus is in ``tests/data/picklescan`` (with picklescan's LICENSE and
SOURCE.md); its MANIFEST.tsv gives each file's expected verdict. A missing corpus fails the run.
``benches/corpus.py`` holds both rules, shared with ``make scan-compare``.

Each file is scanned with the profile a user would pass for its kind, the
same for malicious and benign files (so a malicious checkpoint is caught
with ``--allow torch`` in effect): PyTorch checkpoints (.pt, .pth, .bin,
.ckpt) with ``--allow torch``, NumPy files (.npy, .npz) with
``--allow numpy``, everything else (plain pickles, zip and 7z archives)
with no profile at all.

``benign_password_protected.zip`` holds one encrypted member, ``test.txt``.
Its stored bytes are ciphertext, not a pickle, and its name is not a
pickle's, so the scanner leaves it out with a note and finds no pickle:
clean. An encrypted member named like a pickle would instead be "could not
scan" (exit 2), since its content cannot be checked without the password.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest
from oxpickle.cli import main

from benches.corpus import CORPUS, MANIFEST, MISSING, manifest, profiles_for

EXIT_BY_EXPECTATION = {"benign": 0, "malicious": 1, "not-a-pickle": 2}
CASES = [pytest.param(path, expected, id=path) for path, expected in manifest()] or [
    pytest.param(None, None, id="corpus-missing")
]


def allow_for(path: str) -> list[str]:
    return [argument for profile in profiles_for(path) for argument in ("--allow", profile)]


def scan_json(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["scan", "--json", *args])
    return status, json.loads(out.getvalue())


@pytest.mark.parametrize(("path", "expected"), CASES)
def test_corpus_file_gets_its_expected_verdict(path, expected):
    assert path is not None, MISSING
    status, report = scan_json(*allow_for(path), str(CORPUS / path))
    statuses = [result["status"] for result in report["results"]]
    assert status == EXIT_BY_EXPECTATION[expected], (expected, report)
    assert report["exit_status"] == status
    if expected == "malicious":
        assert "dangerous" in statuses, report
    elif expected == "benign":
        assert set(statuses) == {"safe"}, report
    else:
        assert statuses == ["error"]
        assert report["results"][0]["message"].startswith("not a pickle: ")


def test_manifest_lists_the_whole_corpus():
    assert MANIFEST.is_file(), MISSING
    listed = {path for path, _ in manifest()}
    present = {
        str(file.relative_to(CORPUS))
        for file in CORPUS.rglob("*")
        if file.is_file() and file.parent != CORPUS
    }
    assert listed == present
    assert len(listed) == 109


def test_password_protected_member_is_left_out_with_a_note():
    assert MANIFEST.is_file(), MISSING
    status, report = scan_json(str(CORPUS / "data" / "benign_password_protected.zip"))
    [result] = report["results"]
    assert status == 0
    assert result["message"] == "no pickle inside (1 member)"
    assert result["notes"] == [
        "test.txt: encrypted, and not a pickle as stored; not named like one, so not scanned"
    ]


def test_the_command_line_over_the_whole_corpus():
    assert MANIFEST.is_file(), MISSING
    result = subprocess.run(
        [sys.executable, "-m", "oxpickle", "scan", str(CORPUS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    # LICENSE, MANIFEST.tsv and SOURCE.md are passed over.
    assert lines[-1].startswith("109 file(s) scanned, 3 other file(s) skipped;")
    for path, expected in manifest():
        shown = [line for line in lines if line.startswith(str(CORPUS / path))]
        assert shown, path
        if expected == "malicious":
            assert any(": dangerous: " in line for line in shown), shown
        elif expected == "not-a-pickle":
            [line] = shown
            assert line.startswith(f"{CORPUS / path}: could not scan: not a pickle: ")
