"""``python -m oxpickle scan`` and ``show`` as a user runs them: exit
statuses, the JSON report, directories, archives, NumPy files, several
pickles in one file, and bad input. Every file is made here."""

from __future__ import annotations

import _compat_pickle
import collections
import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy
import pytest
from oxpickle._oxpickle import allowlist_profiles
from oxpickle._oxpickle import scan as native_scan
from oxpickle.cli import main

EVAL_V2 = b"\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R."
SYSTEM_V4 = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "oxpickle", *args], capture_output=True, text=True, check=False
    )


def scan_json(*args):
    """The scan command in this process, with its JSON report."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["scan", "--json", *map(str, args)])
    return status, json.loads(out.getvalue())


def statuses(report):
    return [(result["member"], result["status"]) for result in report["results"]]


def write(path, data):
    path.write_bytes(data)
    return path


def zip_of(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# Exit statuses and the line per pickle.


def test_clean_file_exits_0_with_one_line_per_pickle(tmp_path):
    path = write(tmp_path / "ok.pkl", pickle.dumps({"a": [1, 2.5, None]}))
    result = run("scan", str(path))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        f"{path}: safe: no globals",
        "1 file(s) scanned; 1 pickle(s): 0 dangerous, 0 unknown, 0 could not be scanned",
    ]


def test_unknown_global_exits_1_and_an_allowlist_clears_it(tmp_path):
    path = write(tmp_path / "od.pkl", pickle.dumps(collections.OrderedDict(a=1), 2))
    result = run("scan", str(path))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{path}: unknown: collections.OrderedDict (unknown)")
    assert run("scan", "--allow", "data", str(path)).returncode == 0
    assert run("scan", "--allow", "collections.OrderedDict", str(path)).returncode == 0


def test_dangerous_global_names_what_it_can_do(tmp_path):
    path = write(tmp_path / "evil.pkl", EVAL_V2)
    result = run("scan", "--allow", "data", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}: dangerous: builtins.eval (dangerous: runs code it is given; "
        "written __builtin__.eval)"
    )


def test_missing_path_and_unreadable_input_exit_2(tmp_path):
    missing = tmp_path / "nope.pkl"
    result = run("scan", str(missing))
    assert result.returncode == 2
    assert result.stdout.startswith(
        f"{missing}: could not scan: cannot read: No such file or directory"
    )
    garbage = write(tmp_path / "garbage.pkl", b"\xff\xfe not a pickle")
    result = run("scan", str(garbage))
    assert result.returncode == 2
    assert f"{garbage}: could not scan: not a pickle: invalid load key" in result.stdout


def test_unsafe_outranks_could_not_scan(tmp_path):
    evil = write(tmp_path / "evil.pkl", SYSTEM_V4)
    assert run("scan", str(evil), str(tmp_path / "missing.pkl")).returncode == 1


def test_bad_allow_entry_is_refused_before_scanning(tmp_path):
    path = write(tmp_path / "ok.pkl", pickle.dumps(1))
    result = run("scan", "--allow", "nosuchprofile", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    names = ", ".join(name for name, _, _ in allowlist_profiles())
    assert f"neither a profile ({names})" in result.stderr


def test_help_lists_the_allowlist_profiles():
    result = run("scan", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for name, summary, _ in allowlist_profiles():
        assert f"{name}: {summary}" in text


# The JSON report.


def test_json_report_shape(tmp_path):
    path = write(tmp_path / "evil.pkl", EVAL_V2)
    status, report = scan_json(path)
    assert status == 1
    assert report["exit_status"] == 1
    assert report["summary"] == {
        "files": 1,
        "skipped": 0,
        "safe": 0,
        "unknown": 0,
        "dangerous": 1,
        "error": 0,
    }
    [result] = report["results"]
    assert result.keys() == {"path", "member", "status", "streams", "message", "rest", "notes"}
    assert (result["path"], result["member"], result["status"]) == (str(path), None, "dangerous")
    [stream] = result["streams"]
    assert stream == {
        "offset": 0,
        "end": len(EVAL_V2),
        "error": None,
        "protocol": 2,
        "verdict": "dangerous",
        "imports": [
            {
                "module": "builtins",
                "name": "eval",
                "written": "__builtin__.eval",
                "verdict": "dangerous",
                "why": "runs code it is given",
            }
        ],
        "notes": [],
    }


def test_json_report_of_indirections(tmp_path):
    # STACK_GLOBAL on the results of calls, then an EXT code.
    dynamic = b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85Rcbuiltins\nstr\n\x8c\x06system\x85R\x93"
    path = write(tmp_path / "tricky.pkl", dynamic + b"\x82\x05\x86.")
    status, report = scan_json("--allow", "data", path)
    [stream] = report["results"][0]["streams"]
    assert status == 1
    assert [note["kind"] for note in stream["notes"]] == ["dynamic-global", "extension-code"]
    assert {note["verdict"] for note in stream["notes"]} == {"unknown"}


# Several pickles in one file.


def test_every_pickle_of_a_file_is_reported(tmp_path):
    first, second = pickle.dumps([1, 2]), SYSTEM_V4
    path = write(tmp_path / "many.pkl", first + second + pickle.dumps("tail"))
    result = run("scan", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[:3] == [
        f"{path} @0: safe: no globals",
        f"{path} @{len(first)}: dangerous: os.system (dangerous: starts processes or shell "
        "commands)",
        f"{path} @{len(first) + len(second)}: safe: no globals",
    ]


def test_bytes_after_the_pickles_are_noted_not_failed(tmp_path):
    pickles = pickle.dumps(1) + pickle.dumps(2)
    path = write(tmp_path / "legacy.pt", pickles + b"\x00\x01\xe2")
    result = run("scan", str(path))
    assert result.returncode == 0
    assert result.stdout.splitlines()[1].endswith(
        f"; bytes from {len(pickles)} on are not a pickle"
    )


def test_a_pickle_broken_after_a_dangerous_global_is_dangerous(tmp_path):
    path = write(tmp_path / "broken.pkl", b"cbuiltins\nexec\n(X>\nf = open")
    result = run("scan", str(path))
    assert result.returncode == 1
    assert "builtins.exec (dangerous: runs code it is given); then the pickle breaks:" in (
        result.stdout
    )


# Directories.


def test_directories_are_walked_for_pickle_like_files(tmp_path):
    write(tmp_path / "a.pkl", SYSTEM_V4)
    write(tmp_path / "notes.txt", b"cos\nsystem\n")  # not a pickle's name nor start
    (tmp_path / "sub").mkdir()
    numpy.save(tmp_path / "sub" / "ints.npy", numpy.arange(4))
    write(tmp_path / "sub" / "model", pickle.dumps([1], 4))  # no suffix, starts like one
    os.mkfifo(tmp_path / "sub" / "pipe.pkl")  # never opened
    status, report = scan_json(tmp_path)
    paths = [os.path.relpath(result["path"], tmp_path) for result in report["results"]]
    assert paths == ["a.pkl", os.path.join("sub", "ints.npy"), os.path.join("sub", "model")]
    assert report["summary"]["skipped"] == 2
    assert [result["status"] for result in report["results"]] == ["dangerous", "safe", "safe"]
    assert status == 1


# Zip archives, PyTorch checkpoints, NumPy files.


def test_zip_members_are_scanned_by_name_and_by_content(tmp_path):
    path = zip_of(
        tmp_path / "bundle.zip",
        {"config.json": b'{"a": 1}', "model/data.pkl": pickle.dumps([1]), "x.txt": SYSTEM_V4},
    )
    status, report = scan_json(path)
    assert statuses(report) == [("model/data.pkl", "safe"), ("x.txt", "dangerous")]
    assert status == 1


def test_every_copy_of_a_repeated_member_name_is_scanned(tmp_path):
    path = tmp_path / "twice.zip"
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("data.pkl", SYSTEM_V4)
        archive.writestr("data.pkl", pickle.dumps([1]))
    status, report = scan_json(path)
    assert statuses(report) == [("data.pkl", "dangerous"), ("data.pkl", "safe")]
    assert status == 1


def test_zip_member_named_like_a_pickle_must_be_one(tmp_path):
    path = zip_of(tmp_path / "bad.zip", {"data.pkl": b"\xff garbage"})
    status, report = scan_json(path)
    assert status == 2
    assert report["results"][0]["message"].startswith("not a pickle: invalid load key")


def test_torch_checkpoint_storages_are_not_unpickled(tmp_path):
    # Raw storage bytes that would read as os.system if taken for a pickle.
    state = pickle.dumps(collections.OrderedDict(w=1), 2)
    path = zip_of(
        tmp_path / "model.pt",
        {"archive/data.pkl": state, "archive/data/0": b"cos\nsystem\n", "archive/version": b"3\n"},
    )
    status, report = scan_json("--allow", "torch", path)
    assert statuses(report) == [("archive/data.pkl", "safe")]
    assert status == 0


def test_zip_headers_a_strict_reader_refuses_are_read_anyway(tmp_path):
    """The flag, CRC and name games of malicious1_0x1.zip and its kin."""
    path = zip_of(tmp_path / "crafted.zip", {"data.pkl": EVAL_V2})
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[6] |= 0x1  # local header: encrypted
    data[central + 8] |= 0x1  # central directory: encrypted
    data[central + 16] ^= 0xFF  # central directory CRC
    data[30:38] = b"datap.kl"  # local header name
    path.write_bytes(bytes(data))
    with pytest.raises(zipfile.BadZipFile, match="differ"), zipfile.ZipFile(path) as archive:
        archive.read("data.pkl")
    status, report = scan_json(path)
    [result] = report["results"]
    assert (status, result["status"]) == (1, "dangerous")
    assert result["notes"] == [
        "local header names it 'datap.kl'",
        "marked encrypted: scanned as stored",
        "CRC does not match",
    ]


def test_encrypted_member_named_like_a_pickle_cannot_be_scanned(tmp_path):
    path = zip_of(tmp_path / "locked.zip", {"data.pkl": b"\xa6\x24\x23\xad ciphertext"})
    data = bytearray(path.read_bytes())
    data[6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    path.write_bytes(bytes(data))
    status, report = scan_json(path)
    assert status == 2
    assert "cannot be scanned without the password" in report["results"][0]["message"]


def test_names_from_the_file_cannot_fake_a_line(tmp_path):
    path = zip_of(tmp_path / "names.zip", {"x.pkl\nfake.pkl: safe": b"cos\x1b[2J\nsystem\n."})
    result = run("scan", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:x.pkl\\nfake.pkl: safe: unknown: os\\x1b[2J.system (unknown)"
    )


def test_nested_archives_name_the_member_path(tmp_path):
    inner = zip_of(tmp_path / "inner.zip", {"evil.pkl": SYSTEM_V4}).read_bytes()
    path = zip_of(tmp_path / "outer.zip", {"inner.zip": inner})
    status, report = scan_json(path)
    assert statuses(report) == [("inner.zip:evil.pkl", "dangerous")]
    assert status == 1


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_object_arrays_need_their_items_allowed(tmp_path, compressed):
    path = tmp_path / "arrays.npz"
    save = numpy.savez_compressed if compressed else numpy.savez
    save(path, ints=numpy.arange(3), objs=numpy.array([1, "a", None], dtype=object))
    status, report = scan_json("--allow", "numpy", path)
    assert statuses(report) == [("ints.npy", "safe"), ("objs.npy", "safe")]
    assert report["results"][0]["message"].startswith("no pickle: NumPy array of dtype")
    assert status == 0
    # Object items are pickled values: a class among them must be allowed.
    save(path, objs=numpy.array([collections.OrderedDict()], dtype=object))
    status, report = scan_json("--allow", "numpy", path)
    imports = [item["module"] for item in report["results"][0]["streams"][0]["imports"]]
    assert "collections" in imports
    assert status == 1
    assert scan_json("--allow", "numpy", "--allow", "data", path)[0] == 0


def test_npy_object_array_pickle_starts_after_the_header(tmp_path):
    path = tmp_path / "objs.npy"
    numpy.save(path, numpy.array([{"k": 1}], dtype=object), allow_pickle=True)
    status, report = scan_json("--allow", "numpy", path)
    [stream] = report["results"][0]["streams"]
    assert stream["offset"] == path.read_bytes().index(b"\n") + 1
    assert status == 0


def test_structured_dtype_with_an_object_field_is_scanned(tmp_path):
    path = tmp_path / "rec.npy"
    dtype = numpy.dtype([("n", "<i4"), ("o", "O")])
    numpy.save(path, numpy.zeros(2, dtype=dtype), allow_pickle=True)
    status, report = scan_json("--allow", "numpy", path)
    assert report["results"][0]["streams"], report
    assert status == 0


def test_damaged_npy_header_cannot_be_scanned(tmp_path):
    path = write(tmp_path / "bad.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': __imp")
    status, report = scan_json(path)
    assert status == 2
    assert report["results"][0]["message"].startswith("NumPy array file: ")


def test_7z_without_py7zr_is_reported_not_scanned(tmp_path, monkeypatch):
    path = write(tmp_path / "a.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24)
    monkeypatch.setitem(sys.modules, "py7zr", None)
    status, report = scan_json(path)
    assert status == 2
    assert report["results"][0]["message"] == "reading 7z archives needs py7zr: pip install py7zr"


def test_7z_members_are_scanned(tmp_path):
    import py7zr

    path = tmp_path / "a.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(SYSTEM_V4, "evil.pkl")
        archive.writestr(b"plain text", "readme.txt")
        archive.writestr(pickle.dumps([1]), "evil.pkl")
    status, report = scan_json(path)
    # py7zr names the second copy evil.pkl_0.
    assert statuses(report) == [("evil.pkl", "dangerous"), ("evil.pkl_0", "safe")]
    assert status == 1


# Python 2 names, as CPython maps them.


def test_python_2_names_are_never_mapped_otherwise_than_cpython_maps_them():
    pairs = dict(_compat_pickle.NAME_MAPPING)
    for module, renamed in _compat_pickle.IMPORT_MAPPING.items():
        pairs.setdefault((module, "SomeName"), (renamed, "SomeName"))
    mapped = set()
    for (module, name), expected in pairs.items():
        data = f"c{module}\n{name}\n.".encode()
        [found] = native_scan(data)["streams"][0]["imports"]
        if found["written"] is not None:
            assert (found["module"], found["name"]) == expected
            mapped.add(module)
        else:
            assert (found["module"], found["name"]) == (module, name)
    assert {"__builtin__", "copy_reg", "httplib", "urllib2", "cPickle", "commands"} <= mapped


# show.


def test_show_prints_the_value_without_importing(tmp_path):
    path = write(tmp_path / "evil.pkl", SYSTEM_V4)
    result = run("show", str(path))
    assert result.returncode == 0
    assert result.stdout == "os.system('id')\n"


def test_show_prints_each_pickle_of_a_file(tmp_path):
    first = pickle.dumps({"a": (1, 2)})
    path = write(tmp_path / "two.pkl", first + pickle.dumps([b"x", None]))
    result = run("show", str(path))
    assert result.stdout.splitlines() == [
        "--- pickle at byte 0 ---",
        "{'a': (1, 2)}",
        f"--- pickle at byte {len(first)} ---",
        "[b'x', None]",
    ]


def test_show_json_is_a_tree_of_names_calls_and_references(tmp_path):
    shared = [1]
    data = pickle.dumps([shared, shared, collections.OrderedDict(k=b"\x00")], 2)
    path = write(tmp_path / "tree.pkl", data + SYSTEM_V4)
    result = run("show", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "offset": 0,
            "value": [
                {"id": 1, "list": [1]},
                {"ref": 1},
                {
                    "call": {"global": "collections.OrderedDict"},
                    "args": {"tuple": []},
                    "setitems": [
                        [
                            "k",
                            {
                                "call": {"global": "_codecs.encode"},
                                "args": {"tuple": ["\x00", "latin1"]},
                            },
                        ]
                    ],
                },
            ],
        },
        {
            "offset": len(data),
            "value": {"call": {"global": "os.system"}, "args": {"tuple": ["id"]}},
        },
    ]


def test_show_of_a_broken_pickle_says_where_and_exits_1(tmp_path):
    path = write(tmp_path / "cut.pkl", pickle.dumps([1, 2, 3])[:-3])
    result = run("show", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert f"(pickle starting at byte 0) of {path}" in result.stderr


def test_show_of_a_missing_file_exits_2(tmp_path):
    missing = tmp_path / "nope.pkl"
    result = run("show", str(missing))
    assert result.returncode == 2
    assert f"cannot read {missing}" in result.stderr


# Streams that loaders read differently.


def test_a_stream_whose_instruction_crosses_its_frame_is_dangerous(tmp_path):
    """pickle.loads reads the BINUNICODE as data; the C unpickler reading a
    file reads the bytes past the frame's end differently. A scanner must
    assume the most permissive loader."""
    data = b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00X\x0a\x00\x00\x00helloworld."
    path = write(tmp_path / "straddle.pkl", data)
    status, report = scan_json("--allow", "data", path)
    assert status == 1
    [result] = report["results"]
    assert result["status"] == "dangerous"
    [stream] = result["streams"]
    [note] = stream["notes"]
    assert note["kind"] == "frame-violation"
    assert note["verdict"] == "dangerous"
    assert "runs past the end of its frame" in note["detail"]
    assert "BINUNICODE instruction at byte 11" in note["detail"]


def test_a_frame_begun_inside_a_frame_is_dangerous(tmp_path):
    data = b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00N\x95\x00\x00\x00\x00\x00\x00\x00\x00NN."
    status, report = scan_json(write(tmp_path / "nested.pkl", data))
    assert status == 1
    [stream] = report["results"][0]["streams"]
    assert [note["kind"] for note in stream["notes"]] == ["frame-violation"]


def test_framed_pickles_that_follow_the_rules_scan_safe(tmp_path):
    value = {"k": ["x" * 70000, list(range(3000)), b"y" * 100000]}
    path = write(tmp_path / "big.pkl", pickle.dumps(value, 5))
    status, report = scan_json(path)
    assert status == 0
    assert report["results"][0]["status"] == "safe"


# What the profile table's argument rules and the instance-method lookups
# let the scan see before any load.

RULE_NOTES = {
    "frame-violation": b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00X\x0a\x00\x00\x00helloworld.",
    # bytearray(2**31): restricted loading refuses the size, the stdlib allocates.
    "refused-arguments": b"\x80\x02cbuiltins\nbytearray\nJ\x00\x00\x00\x80\x85R.",
    # BUILD puts bytes under '__setstate__'; the next BUILD calls it.
    "planted-method": b"\x80\x02ccollections\nOrderedDict\n)R}X\x0c\x00\x00\x00__setstate__"
    b"cbuiltins\nbytes\nsbJ\x00\x00\x00\x80b.",
}


@pytest.mark.parametrize("kind", RULE_NOTES)
def test_rule_notes_are_dangerous_under_the_profile_that_allows_the_names(tmp_path, kind):
    path = write(tmp_path / f"{kind}.pkl", RULE_NOTES[kind])
    status, report = scan_json("--allow", "data", path)
    assert status == 1
    [stream] = report["results"][0]["streams"]
    assert [(note["kind"], note["verdict"]) for note in stream["notes"]] == [(kind, "dangerous")]
    # Every name it imports is allowed: the note alone makes it unsafe.
    assert all(found["verdict"] == "safe" for found in stream["imports"])


@pytest.mark.parametrize("kind", RULE_NOTES)
def test_rule_notes_read_as_sentences(tmp_path, kind):
    path = write(tmp_path / f"{kind}.pkl", RULE_NOTES[kind])
    result = run("scan", "--allow", "data", str(path))
    assert result.returncode == 1, result.stderr
    assert "dangerous" in result.stdout and "Traceback" not in result.stderr
