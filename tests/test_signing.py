"""Signed pickles: ``dumps(obj, key=...)`` and ``loads(data, key=...)``.

The signature is checked before a single opcode runs: every test that
expects a refusal uses a payload that would import ``os`` if it ran.
"""

import io
import pickle
import sys

import oxpickle
import pytest

KEY = b"k" * 32
OLD_KEY = b"o" * 32
VALUE = {"weights": [1.5, 2.5], "name": "model", "raw": b"\x00\x01"}
HEADER_LEN = 45


class Tracker:
    """Records whether loading it ran any code."""

    loaded = False

    def __reduce__(self):
        return (_mark_loaded, ())


def _mark_loaded():
    Tracker.loaded = True
    return "ran"


@pytest.fixture(autouse=True)
def _reset_tracker():
    Tracker.loaded = False


def test_round_trip():
    data = oxpickle.dumps(VALUE, key=KEY)
    assert data[:5] == b"OXSG\x01"
    assert oxpickle.loads(data, key=KEY) == VALUE


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol_signs(protocol):
    data = oxpickle.dumps(VALUE, protocol=protocol, key=KEY)
    assert oxpickle.loads(data, key=KEY) == VALUE


def test_key_rotation_signs_with_the_first_and_checks_with_any():
    old = oxpickle.dumps(VALUE, key=OLD_KEY)
    new = oxpickle.dumps(VALUE, key=[KEY, OLD_KEY])
    assert oxpickle.loads(old, key=[KEY, OLD_KEY]) == VALUE
    assert oxpickle.loads(new, key=KEY) == VALUE
    with pytest.raises(oxpickle.UnsafePickleError):
        oxpickle.loads(new, key=OLD_KEY)


def test_wrong_key_is_refused_before_anything_runs():
    data = oxpickle.dumps(Tracker(), key=KEY)
    with pytest.raises(oxpickle.UnsafePickleError, match="key is wrong or the data was changed"):
        oxpickle.loads(data, key=b"x" * 32)
    assert not Tracker.loaded
    assert oxpickle.loads(data, key=KEY) == "ran"


def test_every_changed_byte_is_refused():
    data = oxpickle.dumps(Tracker(), key=KEY)
    for index in range(len(data)):
        tampered = bytearray(data)
        tampered[index] ^= 0x20
        with pytest.raises(oxpickle.UnsafePickleError):
            oxpickle.loads(bytes(tampered), key=KEY)
    assert not Tracker.loaded


def test_truncated_and_extended_data_is_refused():
    data = oxpickle.dumps(Tracker(), key=KEY)
    for end in range(len(data)):
        with pytest.raises(oxpickle.UnsafePickleError, match="truncated|not a signed"):
            oxpickle.loads(data[:end], key=KEY)
    with pytest.raises(oxpickle.UnsafePickleError, match="not covered by its signature"):
        oxpickle.loads(data + b".", key=KEY)
    assert not Tracker.loaded


def test_unsigned_data_is_refused_when_a_key_is_given():
    with pytest.raises(oxpickle.UnsafePickleError, match="not a signed pickle"):
        oxpickle.loads(pickle.dumps(Tracker()), key=KEY)
    assert not Tracker.loaded


def test_signed_data_without_a_key_says_to_pass_one():
    data = oxpickle.dumps(VALUE, key=KEY)
    with pytest.raises(oxpickle.UnsafePickleError, match="pass key="):
        oxpickle.loads(data)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)


def test_unknown_header_version_asks_for_an_upgrade():
    data = bytearray(oxpickle.dumps(VALUE, key=KEY))
    data[4] = 2
    with pytest.raises(oxpickle.UnsafePickleError, match="version 2 is not supported"):
        oxpickle.loads(bytes(data), key=KEY)


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("text", TypeError, "not str"),
        (b"", ValueError, "must not be empty"),
        ([], ValueError, "empty list"),
        (42, TypeError, "bytes or a list of bytes"),
        ([KEY, "text"], TypeError, "not str"),
    ],
)
def test_bad_keys(key, error, message):
    with pytest.raises(error, match=message):
        oxpickle.dumps(VALUE, key=key)
    with pytest.raises(error, match=message):
        oxpickle.loads(oxpickle.dumps(VALUE, key=KEY), key=key)


def test_bytearray_and_memoryview_data():
    data = oxpickle.dumps(VALUE, key=bytearray(KEY))
    assert oxpickle.loads(bytearray(data), key=KEY) == VALUE
    assert oxpickle.loads(memoryview(data), key=KEY) == VALUE


def test_files_hold_several_signed_pickles(tmp_path):
    path = tmp_path / "signed.pickles"
    with open(path, "wb") as f:
        oxpickle.dump(VALUE, f, key=KEY)
        oxpickle.dump([1, 2], f, key=KEY)
    with open(path, "rb") as f:
        assert oxpickle.load(f, key=KEY) == VALUE
        assert oxpickle.load(f, key=KEY) == [1, 2]
        with pytest.raises(oxpickle.UnsafePickleError, match="truncated"):
            oxpickle.load(f, key=KEY)


def test_a_false_length_in_a_file_costs_no_memory():
    header = bytearray(oxpickle.dumps(None, key=KEY)[:HEADER_LEN])
    header[5:13] = (2**62).to_bytes(8, "little")
    with pytest.raises(oxpickle.UnsafePickleError, match="truncated"):
        oxpickle.load(io.BytesIO(bytes(header) + b"N."), key=KEY)


def test_signing_composes_with_allow():
    data = oxpickle.dumps(Tracker(), key=KEY)
    with pytest.raises(oxpickle.UnsafePickleError, match="_mark_loaded"):
        oxpickle.loads(data, key=KEY, allow="data")
    assert not Tracker.loaded
    assert oxpickle.loads(oxpickle.dumps(VALUE, key=KEY), key=KEY, allow="data") == VALUE


def test_signed_load_from_a_file_composes_with_allow(tmp_path):
    path = tmp_path / "x.pickle"
    with open(path, "wb") as f:
        oxpickle.dump(Tracker(), f, key=KEY)
    with open(path, "rb") as f, pytest.raises(oxpickle.UnsafePickleError):
        oxpickle.load(f, key=KEY, allow="data")
    assert not Tracker.loaded


def test_dump_without_key_still_streams_to_the_file():
    stream = io.BytesIO()
    oxpickle.dump(VALUE, stream, key=None)
    assert stream.getvalue()[:1] == b"\x80"
    assert oxpickle.loads(stream.getvalue()) == VALUE


def test_refusals_are_unpickling_errors():
    assert issubclass(oxpickle.UnsafePickleError, pickle.UnpicklingError)
    assert issubclass(oxpickle.UnsafePickleError, oxpickle.UnpicklingError)
    assert sys.modules["oxpickle"].UnsafePickleError.__module__ == "oxpickle"
