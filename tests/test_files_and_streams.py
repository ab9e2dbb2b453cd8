"""Standard streams and open files, as cloudpickle users rely on them.

``sys.stdout`` and ``sys.stderr`` arrive as the receiver's own streams. A
file open for reading travels as an in-memory copy of its contents at the
same position; a file that cannot be read (closed, write-only, standard
input) is refused with a PicklingError that says why and where.
"""

import io
import pickle

import oxpickle
import pytest
from child import run_child

TEXT = "héllo wörld\nsecond line\n"


@pytest.fixture
def text_path(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_std_streams_arrive_as_the_receivers_own(tmp_path):
    """Dumped in one fresh interpreter, loaded in another (pytest replaces
    the streams of its own process)."""
    payload = tmp_path / "streams.pickle"
    run_child(
        f"""
        import json, sys, oxpickle
        with open({str(payload)!r}, "wb") as f:
            f.write(oxpickle.dumps({{"out": sys.stdout, "err": sys.stderr}}))
        print(json.dumps("written"))
        """
    )
    seen = run_child(
        f"""
        import json, pickle, sys
        with open({str(payload)!r}, "rb") as f:
            streams = pickle.loads(f.read())
        print(json.dumps([streams["out"] is sys.stdout, streams["err"] is sys.stderr]))
        """
    )
    assert seen == [True, True]


def test_standard_input_is_refused_where_it_sits():
    seen = run_child(
        """
        import json, pickle, sys, oxpickle
        try:
            oxpickle.dumps({"jobs": [sys.stdin]})
        except pickle.PicklingError as exc:
            print(json.dumps(str(exc)))
        """
    )
    assert "Cannot pickle standard input" in seen
    assert "root['jobs'][0]" in seen


@pytest.mark.parametrize("load", [pickle.loads, oxpickle.loads], ids=["pickle", "oxpickle"])
def test_text_file_travels_as_its_contents_at_its_position(text_path, load):
    with open(text_path, encoding="utf-8") as file:
        file.readline()
        copy = load(oxpickle.dumps(file))
        assert file.tell() == len(TEXT.splitlines()[0].encode()) + 1, "the file did not move"
    assert isinstance(copy, io.StringIO)
    assert copy.name == str(text_path)
    assert copy.read() == "second line\n"
    copy.seek(0)
    assert copy.read() == TEXT


def test_binary_file_travels_as_its_bytes_at_its_position(text_path):
    with open(text_path, "rb") as file:
        file.read(3)
        copy = pickle.loads(oxpickle.dumps(file))
    assert isinstance(copy, io.BytesIO)
    assert copy.tell() == 3
    assert copy.read() == TEXT.encode()[3:]


@pytest.mark.parametrize("mode", ["w+", "r+", "a+", "wb+"])
def test_file_open_for_reading_and_writing_travels(tmp_path, mode):
    path = tmp_path / "both.txt"
    path.write_text("seed")
    with open(path, mode) as file:
        file.write(b"data" if "b" in mode else "data")
        file.seek(0)
        copy = pickle.loads(oxpickle.dumps(file))
        expected = file.read()
    assert copy.read() == expected


@pytest.mark.parametrize("mode", ["w", "wb", "a"])
def test_write_only_file_is_refused(tmp_path, mode):
    with open(tmp_path / "out", mode) as file:
        with pytest.raises(pickle.PicklingError, match="not opened for reading") as raised:
            oxpickle.dumps({"log": file})
    assert "root['log']" in str(raised.value)


def test_closed_file_is_refused(text_path):
    with open(text_path) as file:
        pass
    with pytest.raises(pickle.PicklingError, match="Cannot pickle closed files"):
        oxpickle.dumps(file)


def test_file_copy_in_deterministic_mode_is_stable(text_path):
    with open(text_path) as first, open(text_path) as second:
        assert oxpickle.dumps(first, deterministic=True) == oxpickle.dumps(
            second, deterministic=True
        )
