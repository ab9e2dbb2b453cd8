"""The Rust disassembler prints exactly what ``pickletools.dis`` prints."""

import collections
import contextlib
import datetime
import decimal
import enum
import fractions
import io
import pickle
import pickletools
import uuid

import pytest
from oxpickle._oxpickle import dis


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1
        self.b = [2]


class Tagged(list):
    pass


class Color(enum.Enum):
    RED = 1


class KeywordOnly:
    def __new__(cls, *, a):
        self = super().__new__(cls)
        self.a = a
        return self

    def __getnewargs_ex__(self):
        return (), {"a": self.a}


def _recursive_list():
    items = []
    items.append(items)
    return items


def _recursive_dict():
    mapping = {}
    mapping["self"] = mapping
    return mapping


def _shared():
    inner = [1, 2]
    return [inner, inner, (inner,)]


def _tagged():
    tagged = Tagged([1, 2, 3])
    tagged.note = "x"
    return tagged


OBJECTS = [
    None,
    True,
    False,
    0,
    -1,
    255,
    65536,
    -(2**31),
    2**63,
    -(2**64),
    2**200,
    0.0,
    -0.0,
    0.1,
    1e300,
    float("inf"),
    float("nan"),
    196637 / 2**17,
    "",
    "a'b\"c",
    "\\\t\n\r\x00\x7f",
    "é\xa0\xad€中",
    "😀\U000e0001",
    "\ud800 \udfff",
    b"",
    bytes(range(256)),
    bytearray(b"ab\x80"),
    (),
    (1,),
    (1, 2, 3),
    ((1,), ((2,),)),
    list(range(1500)),
    {"k": [{"n": (1, [2, {3: 4}])}]},
    {i: str(i) for i in range(1100)},
    {1, 2, 3},
    frozenset({"a", 1}),
    _recursive_list(),
    _recursive_dict(),
    _shared(),
    len,
    collections.OrderedDict(a=1, b=[2]),
    collections.deque([1, 2]),
    datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    decimal.Decimal("1.25"),
    fractions.Fraction(1, 3),
    complex(1, -2),
    uuid.UUID(int=12345),
    Point(1, "two"),
    Slotted(),
    _tagged(),
    Color.RED,
    KeywordOnly(a=5),
    "y" * 70000,
]

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def reference(data):
    """What ``pickletools.dis`` prints, and the message of what it raises."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            pickletools.dis(data)
    except Exception as exc:  # pickletools raises several types
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def _picklable(obj, protocol):
    try:
        pickle.dumps(obj, protocol)
    except (pickle.PicklingError, TypeError):
        return False
    return True


# Slotted objects without __getstate__ need protocol 2: the stdlib itself
# refuses them below that, so those pairs are not cases at all.
CASES = [
    pytest.param(obj, protocol, id=f"{type(obj).__name__}-{protocol}")
    for obj in OBJECTS
    for protocol in PROTOCOLS
    if _picklable(obj, protocol)
]


@pytest.mark.parametrize(("obj", "protocol"), CASES)
def test_listing_matches_pickletools(obj, protocol):
    data = pickle.dumps(obj, protocol)
    expected, raised = reference(data)
    assert raised is None
    text, error = dis(data)
    assert text == expected
    assert error is None


def test_out_of_band_buffers():
    buffers = [pickle.PickleBuffer(bytearray(b"rw")), pickle.PickleBuffer(b"ro")]
    data = pickle.dumps(buffers, 5, buffer_callback=lambda buffer: False)
    text, error = dis(data)
    assert (text, error) == reference(data)


BROKEN = [
    b"",
    b"N",
    b"\x80\x05\xff",
    b"Nh\x00.",
    b"Ng01\n.",
    b"Nq\x00Nq\x00.",
    b"(\x94.",
    b"0.",
    b"N(N.",
    b"e.",
    b"\x80\x04\x8c\x05ab",
    b"T\xff\xff\xff\xff",
    b"I0x10\n.",
    b"X\x02\x00\x00\x00\xff\xfe.",
    b"S'a\n.",
    b"\x80\x02\x8b\xd0\x07\x00\x00" + b"\x7f" * 2000 + b".",
]


@pytest.mark.parametrize("data", BROKEN, ids=repr)
def test_broken_pickles_stop_where_pickletools_stops(data):
    expected, raised = reference(data)
    assert raised is not None
    text, error = dis(data)
    assert text == expected
    assert error is not None
    assert error.startswith(raised)
