"""Bytes that CPython's loaders read differently (SECURITY.md, "Where
loaders read the same bytes differently"): restricted loading refuses each
one, and the scan never calls it safe."""

import pickle
import sys

import oxpickle
import pytest
from oxpickle._oxpickle import scan as native_scan

# INT and LONG text of protocol 0 that CPython's versions read as different
# numbers; its picklers write none of it.
VERSION_DEPENDENT = {
    "INT with a leading zero": (b"I010\n.", 8, 10),
    "INT with a hex prefix": (b"I0x10\n.", 16, None),
    "LONG with a leading zero": (b"L010L\n.", None, 10),
    "LONG with an octal prefix": (b"L0o17L\n.", 15, None),
}
# C read these two characters as a bool until 3.15; Python reads an int.
SHORT_BOOLS = {"I+0": b"I+0\n.", "I 1": b"I 1\n."}
BEFORE_314 = sys.version_info < (3, 14)


def scan_notes(data):
    [stream] = native_scan(data, ["data"])["streams"]
    return [(note["kind"], note["verdict"]) for note in stream["notes"]]


@pytest.mark.parametrize(
    ("data", "before", "since"), VERSION_DEPENDENT.values(), ids=VERSION_DEPENDENT
)
def test_the_running_cpython_reads_its_own_way(data, before, since):
    expected = before if BEFORE_314 else since
    if expected is None:
        with pytest.raises(ValueError):
            pickle.loads(data)
        with pytest.raises(ValueError):
            oxpickle.loads(data)
    else:
        assert pickle.loads(data) == expected == oxpickle.loads(data)


@pytest.mark.parametrize(
    "data", [*(v[0] for v in VERSION_DEPENDENT.values()), *SHORT_BOOLS.values()]
)
def test_restricted_loading_refuses_version_dependent_numbers(data):
    with pytest.raises(oxpickle.UnsafePickleError, match="base 0 before CPython 3.14|a bool in C"):
        oxpickle.loads(data, allow="data")


@pytest.mark.parametrize(
    "data", [*(v[0] for v in VERSION_DEPENDENT.values()), *SHORT_BOOLS.values()]
)
def test_the_scan_reports_version_dependent_numbers(data):
    assert ("version-dependent", "unknown") in scan_notes(data)


def test_what_protocol_0_writes_reads_alike_everywhere():
    value = [0, 1, -1, 10, 2**70, -(2**70), True, False]
    data = pickle.dumps(value, 0)
    assert oxpickle.loads(data, allow="data") == value
    assert scan_notes(data) == []


def test_empty_appends_onto_what_cannot_take_items_is_refused():
    """C before 3.15 skips an empty APPENDS whatever its target; Python and
    oxpickle require the target to take items. A scan reads on, as C does."""
    data = b"\x80\x02cdatetime\ntimedelta\n)R(e."
    for allow in (None, "data"):
        with pytest.raises(AttributeError):
            oxpickle.loads(data, allow=allow)
