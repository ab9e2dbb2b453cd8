"""oxpickle and the standard library read each other's pickles, protocols 0-5.

Every round trip runs both ways: ``pickle.loads(oxpickle.dumps(x, p))`` and
``oxpickle.loads(pickle.dumps(x, p))``. Results are compared structurally by
``assert_equivalent``: same types, same float bits (NaN, -0.0), same sharing
graph (a shared or cyclic reference stays shared, distinct objects stay
distinct). Byte-for-byte equality with the C pickler for plain builtin data
is checked separately, by the tests named ``..._byte_identical_to_c_pickle``.
"""

import collections
import contextlib
import datetime as dt
import decimal
import enum
import functools
import io
import itertools
import math
import operator
import pickle
import pickletools
import sys
import types
import uuid
import weakref
import zoneinfo

import hypothesis.extra.numpy as hnp
import numpy as np
import oxpickle
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


# --- module-level types, so that both picklers find them by reference --------


class IntSub(int):
    pass


class FloatSub(float):
    pass


class StrSub(str):
    pass


class BytesSub(bytes):
    pass


class TupleSub(tuple):
    pass


class ListSub(list):
    pass


class DictSub(dict):
    pass


class Node:
    """A plain instance whose state is its __dict__."""


class Color(enum.Enum):
    RED = 1
    GREEN = "green"
    BLUE = (3, "b")


class Shape(enum.IntEnum):
    SQUARE = 4
    TRIANGLE = 3


class Perm(enum.IntFlag):
    R = 4
    W = 2
    X = 1


class Mode(enum.Flag):
    A = enum.auto()
    B = enum.auto()


# --- structural comparison ----------------------------------------------------

_BY_IDENTITY = (
    type,
    types.BuiltinFunctionType,
    types.FunctionType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    types.WrapperDescriptorType,
    enum.Enum,
)
_MISSING = object()
_ATOMS = frozenset({int, bool, str, bytes, type(None)})


def _tracks_identity(obj):
    """Objects whose sharing pickle must preserve exactly (the memo)."""
    if isinstance(obj, (list, dict, set, bytearray)):
        return True
    if isinstance(obj, tuple):
        return len(obj) > 0
    return hasattr(obj, "__dict__")


def _same_float(e, a):
    if math.isnan(e):
        return math.isnan(a)
    return e == a and math.copysign(1.0, e) == math.copysign(1.0, a)


def _where(path):
    """Render a lazily built path: ("x", ("[", 3), (".", "attr"), ...)."""
    return "".join(f"[{step!r}]" if kind == "[" else f".{step}" for kind, step in path[1:])


def assert_equivalent(expected, actual):
    """Fail unless ``actual`` is a faithful copy of ``expected``.

    Iterative, so 500-deep structures need no recursion.
    """
    seen = {}  # id(expected object) -> actual object
    claimed = set()  # ids of actual objects already paired
    # (expected, actual, path, whether the pair is real objects of the graph
    # rather than a temporary made here to compare attributes)
    stack = [(expected, actual, ("x",), True)]
    while stack:
        e, a, path, real = stack.pop()
        assert type(a) is type(e), f"x{_where(path)}: {type(a).__name__} != {type(e).__name__}"
        if isinstance(e, _BY_IDENTITY):
            assert a is e, f"x{_where(path)}: {a!r} is not {e!r}"
            continue
        if real and _tracks_identity(e):
            paired = seen.get(id(e), _MISSING)
            if paired is not _MISSING:
                assert a is paired, f"x{_where(path)}: a shared reference was not kept shared"
                continue
            assert id(a) not in claimed, f"x{_where(path)}: two distinct objects were merged"
            seen[id(e)] = a
            claimed.add(id(a))
        if isinstance(e, float):
            assert _same_float(e, a), f"x{_where(path)}: {a!r} != {e!r}"
        elif isinstance(e, complex):
            assert _same_float(e.real, a.real), f"x{_where(path)}: {a!r} != {e!r}"
            assert _same_float(e.imag, a.imag), f"x{_where(path)}: {a!r} != {e!r}"
        elif isinstance(e, (str, bytes, int, type(None))):
            assert a == e, f"x{_where(path)}: {a!r} != {e!r}"
        elif isinstance(e, (list, tuple)):
            assert len(a) == len(e), f"x{_where(path)}: length {len(a)} != {len(e)}"
            if all(type(item) in _ATOMS for item in e):  # fast path for wide data
                assert list(map(type, a)) == list(map(type, e)), f"x{_where(path)}: item types"
                assert list(a) == list(e), f"x{_where(path)}: {a!r} != {e!r}"
                continue
            pairs = enumerate(zip(e, a, strict=True))
            stack.extend((ei, ai, (*path, ("[", i)), True) for i, (ei, ai) in pairs)
        elif isinstance(e, dict):
            assert len(a) == len(e), f"x{_where(path)}: {len(a)} items != {len(e)}"
            if all(type(k) in _ATOMS and type(v) in _ATOMS for k, v in e.items()):
                types_of = [(type(k), type(v)) for k, v in e.items()]
                assert [(type(k), type(v)) for k, v in a.items()] == types_of, _where(path)
                assert list(a.items()) == list(e.items()), f"x{_where(path)}: {a!r} != {e!r}"
                continue
            for i, ((ek, ev), (ak, av)) in enumerate(zip(e.items(), a.items(), strict=True)):
                stack.append((ek, ak, (*path, (".", f"keys()[{i}]")), True))
                stack.append((ev, av, (*path, ("[", ek)), True))
        elif isinstance(e, (set, frozenset)):
            assert a == e, f"x{_where(path)}: {a!r} != {e!r}"
        elif isinstance(e, decimal.Decimal):
            assert str(a) == str(e), f"x{_where(path)}: {a!r} != {e!r}"
        elif isinstance(e, (dt.datetime, dt.time)):
            assert (a.replace(tzinfo=None), a.fold) == (e.replace(tzinfo=None), e.fold), (
                f"x{_where(path)}: {a!r} != {e!r}"
            )
            if isinstance(e.tzinfo, zoneinfo.ZoneInfo):
                assert a.tzinfo is e.tzinfo, f"x{_where(path)}: ZoneInfo not taken from the cache"
            else:
                stack.append((e.tzinfo, a.tzinfo, (*path, (".", "tzinfo")), True))
        elif isinstance(e, functools.partial):
            stack.append(((e.func, e.args), (a.func, a.args), path, False))
            stack.append((e.keywords, a.keywords, (*path, (".", "keywords")), False))
        elif isinstance(e, BaseException):
            stack.append((e.args, a.args, (*path, (".", "args")), False))
        elif isinstance(e, np.ndarray):
            assert_arrays_equivalent(e, a)
        elif type(e).__eq__ is object.__eq__:
            pass  # identity equality only: compared through __dict__ below
        else:
            try:
                equal = a == e
            except Exception:
                # Half-built objects (a Python 2 instance whose state landed
                # under bytes keys) may not compare: their __dict__ does.
                assert hasattr(e, "__dict__"), f"x{_where(path)}: {type(e).__name__} won't compare"
            else:
                assert equal, f"x{_where(path)}: {a!r} != {e!r}"
        if hasattr(e, "__dict__"):
            stack.append((vars(e), vars(a), (*path, (".", "__dict__")), False))


def assert_arrays_equivalent(expected, actual, reference=None):
    """Same dtype, shape and bits; same memory layout flags as ``reference``
    (what the stdlib itself makes of the same array)."""
    assert type(actual) is type(expected)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if expected.dtype.hasobject:
        assert_equivalent(expected.tolist(), actual.tolist())
    else:
        assert actual.tobytes() == expected.tobytes()
    if reference is not None:
        for flag in ("C_CONTIGUOUS", "F_CONTIGUOUS", "WRITEABLE"):
            assert actual.flags[flag] == reference.flags[flag], flag


# --- round-trip helpers -------------------------------------------------------


def _ox_dumps_via_pickler(obj, proto, **kwargs):
    f = io.BytesIO()
    oxpickle.Pickler(f, proto, **kwargs).dump(obj)
    return f.getvalue()


def _ox_loads_via_unpickler(data, **kwargs):
    return oxpickle.Unpickler(io.BytesIO(data), **kwargs).load()


DIRECTIONS = [
    ("oxpickle.dumps -> pickle.loads", oxpickle.dumps, pickle.loads),
    ("oxpickle.Pickler -> pickle.loads", _ox_dumps_via_pickler, pickle.loads),
    ("pickle.dumps -> oxpickle.loads", pickle.dumps, oxpickle.loads),
    ("pickle.dumps -> oxpickle.Unpickler", pickle.dumps, _ox_loads_via_unpickler),
]


def _stdlib_round_trip(obj, proto):
    """What the standard library makes of ``obj`` at ``proto``: (copy, None)
    or (None, the exception its pickler raised)."""
    try:
        data = pickle.dumps(obj, proto)
    except Exception as exc:
        return None, exc
    return pickle.loads(data), None


def check_round_trips(obj, check=assert_equivalent, protocols=PROTOCOLS):
    """Round-trip ``obj`` every way between the two implementations and
    compare each result with the stdlib's own round trip, ``check(reference,
    result)``. Where the stdlib cannot pickle ``obj`` (a recursive list
    subclass under protocol 0, a 50,000-digit int as text...), oxpickle must
    refuse it with the same exception type."""
    for proto in protocols:
        reference, refused = _stdlib_round_trip(obj, proto)
        for name, dumps, loads in DIRECTIONS:
            try:
                if refused is not None:
                    if dumps is pickle.dumps:
                        continue
                    with pytest.raises(type(refused)):
                        dumps(obj, proto)
                else:
                    check(reference, loads(dumps(obj, proto)))
            except (Exception, pytest.fail.Exception) as exc:
                exc.add_note(f"round trip {name}, protocol {proto}")
                raise


# --- strategies ---------------------------------------------------------------

EDGE_INTS = [
    0, 1, -1, 255, 256, -256, 65535, 65536, 2**30 - 1, 2**30, -(2**30), 2**31 - 1, 2**31,
    -(2**31), -(2**31) - 1, 2**60 - 1, 2**60, -(2**60) + 1, -(2**60),
    2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, -(2**64) + 1, 2**64, -(2**64),
    2**90 - 1, 2**90, -(2**90), 2**100, -(2**100), 2**120 - 1, 2**120, -(2**120) + 1,
    -(2**120), 2**127 - 1, -(2**127), 2**1000 + 1, -(2**4000),
]
EDGE_FLOATS = [
    0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, 0.1, 1 / 3, 1e16, 1e22, 123456789.0,
]
EDGE_TEXTS = [
    "", "\x00", "\n", "\r\n", "\\", "\\u20ac", "'", '"', "\ud800", "\udfff", "a\ud83d",
    "\ud83d\ude00", "\U0001f600", "\U0010ffff", "\x80\xff", "é" * 3, "π", "x" * 300,
]
EDGE_BYTES = [b"", b"\x00", b"\n", b"\\", b"\x80" * 3, bytes(range(256)), b"y" * 300]



def one_of_values(values):
    """Like sampled_from, without a strategy repr that spells out each value."""

    def edge_value(index):
        return values[index]

    return st.integers(0, len(values) - 1).map(edge_value)


ints = st.integers() | one_of_values(EDGE_INTS) | st.integers(-(2**520), 2**520)
floats = st.floats() | one_of_values(EDGE_FLOATS)
texts = st.text(st.characters(exclude_categories=()), max_size=20) | one_of_values(EDGE_TEXTS)
binaries = st.binary(max_size=40) | one_of_values(EDGE_BYTES)

plain_leaves = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    floats,
    st.complex_numbers(),
    texts,
    binaries,
    binaries.map(bytearray),
)
# Hashable and equal to their copies: no NaN, so sets and dict keys compare.
hashables = st.recursive(
    st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False), texts, binaries),
    lambda children: st.tuples(children, children) | st.frozensets(children, max_size=3),
    max_leaves=6,
)


def plain_containers(children):
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(hashables, children, max_size=5),
        st.sets(hashables, max_size=5),
        st.frozensets(hashables, max_size=5),
    )


plain_data = st.recursive(plain_leaves, plain_containers, max_leaves=40)

attr_names = st.sampled_from(["tag", "x", "_private", "ü"])


def _with_attrs(obj, attrs):
    for name, value in attrs.items():
        setattr(obj, name, value)
    return obj


def with_attributes(cls, values):
    attrs = st.dictionaries(attr_names, plain_leaves, max_size=2)
    return st.builds(_with_attrs, st.builds(cls, values), attrs)


def _partial(func, args, kwargs):
    return functools.partial(func, *args, **kwargs)


stdlib_values = st.one_of(
    st.decimals(),
    st.sampled_from([decimal.Decimal(s) for s in ("-0", "NaN", "-sNaN123", "Infinity", "1E+999")]),
    st.fractions(),
    st.uuids(),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC) | st.timezones()),
    st.sampled_from(list(Color) + list(Shape) + list(Perm) + [Perm.R | Perm.W, Mode.A | Mode.B]),
    st.sampled_from([len, math.sqrt, print, int, dict, type(None), type(...), str.join]),
    st.builds(
        _partial,
        st.sampled_from([int, max, sorted, operator.add]),
        st.lists(plain_leaves, max_size=2),
        st.dictionaries(st.sampled_from(["key", "reverse"]), plain_leaves, max_size=1),
    ),
)

rich_leaves = st.one_of(
    plain_leaves,
    stdlib_values,
    with_attributes(IntSub, ints),
    with_attributes(FloatSub, floats),
    with_attributes(StrSub, texts),
    with_attributes(BytesSub, binaries),
)


def rich_containers(children):
    return st.one_of(
        plain_containers(children),
        with_attributes(ListSub, st.lists(children, max_size=4)),
        with_attributes(TupleSub, st.lists(children, max_size=4)),
        with_attributes(DictSub, st.dictionaries(hashables, children, max_size=4)),
        st.builds(_with_attrs, st.builds(Node), st.dictionaries(attr_names, children, max_size=3)),
    )


rich_data = st.recursive(rich_leaves, rich_containers, max_leaves=30)

small_leaves = st.one_of(st.none(), st.booleans(), ints, floats, texts, binaries)


@st.composite
def object_graphs(draw, kinds=("list", "dict", "ListSub", "DictSub", "Node")):
    """Mutable nodes that reference each other: sharing, self-references and
    cycles, some of them through tuples."""
    nodes = [
        {"list": list, "dict": dict, "ListSub": ListSub, "DictSub": DictSub, "Node": Node}[kind]()
        for kind in draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=6))
    ]
    pool = list(nodes)  # what a child may point to: nodes, then tuples made below
    for i, node in enumerate(nodes):
        for j in range(draw(st.integers(0, 5))):
            if draw(st.booleans()):
                child = pool[draw(st.integers(0, len(pool) - 1))]
            else:
                child = draw(small_leaves)
            if draw(st.integers(0, 3)) == 0:
                child = (child, draw(small_leaves))
                pool.append(child)
            if isinstance(node, list):
                node.append(child)
            elif isinstance(node, dict):
                node[draw(hashables)] = child
            else:
                setattr(node, f"a{j}", child)
            if isinstance(node, (ListSub, DictSub)) and draw(st.booleans()):
                node.back = pool[draw(st.integers(0, len(pool) - 1))]
        if i and draw(st.booleans()):
            # Mix graph nodes with ordinary nested data.
            nodes[i - 1] = (nodes[i - 1], draw(plain_data))
    return nodes


plain_graphs = object_graphs(kinds=("list", "dict"))


# --- round trips: builtin data, subclasses, sharing ---------------------------


@given(obj=plain_data)
def test_plain_builtin_data_round_trips_both_ways(obj):
    check_round_trips(obj)


@given(obj=rich_data)
def test_builtin_subclasses_and_stdlib_values_round_trip_both_ways(obj):
    check_round_trips(obj)


@given(graph=object_graphs())
def test_shared_references_and_cycles_keep_their_identity(graph):
    check_round_trips(graph)


@given(payload=st.binary(max_size=20))
def test_long1_payloads_of_any_length_load_as_the_stdlib_loads_them(payload):
    # Minimal or not: the unpickler converts up to 8 bytes (and 9 with a
    # zero top byte) without CPython's general path.
    data = b"\x80\x02\x8a" + bytes([len(payload)]) + payload + b"."
    expected = int.from_bytes(payload, "little", signed=True)
    assert oxpickle.loads(data) == pickle.loads(data) == expected


@given(text=st.text(st.characters(max_codepoint=0x10FFFF)) | one_of_values(EDGE_TEXTS))
def test_loaded_strs_have_cpythons_width_for_their_widest_character(text):
    # The unpickler builds str objects itself. CPython compares the widths
    # first, so a str of the wrong one (UCS2 holding only Latin-1, say)
    # would compare unequal; `isascii` reads the ASCII flag.
    for proto in (0, 1, 2, 3, 4, 5):
        loaded = oxpickle.loads(pickle.dumps(text, proto))
        assert loaded == text
        assert loaded.isascii() == all(ord(c) < 128 for c in text)


UTF8_EDGES = [
    b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80",
    b"\xf4\x8f\xbf\xbf", b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
    b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80", b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98",
    b"\xc3\x28", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc",
]


@given(
    parts=st.lists(
        st.binary(max_size=4)
        | one_of_values(UTF8_EDGES)
        | st.text(max_size=3).map(lambda text: text.encode("utf-8", "surrogatepass")),
        max_size=6,
    )
)
def test_any_bytes_as_binunicode_load_as_the_stdlib_loads_them(parts):
    # The unpickler checks and decodes UTF-8 itself; whatever the bytes,
    # the str or the error must be the stdlib's ("surrogatepass").
    payload = b"".join(parts)
    data = b"\x80\x04\x8c" + bytes([len(payload)]) + payload + b"."
    try:
        expected = pickle.loads(data)
    except UnicodeDecodeError as error:
        with pytest.raises(UnicodeDecodeError) as ours:
            oxpickle.loads(data)
        assert (ours.value.start, ours.value.end) == (error.start, error.end)
    else:
        loaded = oxpickle.loads(data)
        assert loaded == expected
        assert loaded.isascii() == expected.isascii()


class RepeatsItsItems(list):
    # listitems from an iterator that yields one list (alone, or in a
    # tuple) twice while holding the only other reference to it.
    def __reduce__(self):
        repeated = ([],) if self else []
        return (RepeatsItsItems, (), None, itertools.chain([0], itertools.repeat(repeated, 2)))


@pytest.mark.parametrize("in_tuple", [False, True])
def test_an_object_an_iterator_yields_twice_keeps_its_identity(in_tuple):
    obj = RepeatsItsItems([1] if in_tuple else [])
    for dumps in (oxpickle.dumps, _ox_dumps_via_pickler):
        loaded = oxpickle.loads(dumps(obj, 5))
        first, second = (loaded[1][0], loaded[2][0]) if in_tuple else (loaded[1], loaded[2])
        assert first is second


def test_appends_to_a_list_being_sorted_fails_as_the_stdlib_does():
    module = types.ModuleType("sorted_victim")
    module.target = [3, 1, 2]
    data = b"\x80\x04csorted_victim\ntarget\n(K\x07K\x08e."  # APPENDS onto that list
    outcomes = []
    with _registered_module(module):
        for loads in (pickle.loads, oxpickle.loads):
            module.target[:] = [3, 1, 2]
            with pytest.raises(ValueError, match="modified during sort"):
                module.target.sort(key=lambda item, loads=loads: (loads(data), item)[1])
            outcomes.append(sorted(module.target))
    assert outcomes[0] == outcomes[1]


@contextlib.contextmanager
def _registered_module(module):
    sys.modules[module.__name__] = module
    try:
        yield
    finally:
        del sys.modules[module.__name__]


def test_self_referencing_containers_point_to_themselves():
    lst = [1]
    lst.append(lst)
    dct = {}
    dct["self"] = dct
    node = Node()
    node.me = node
    holder = []
    tup = (holder, 2)
    holder.append(tup)
    for proto in PROTOCOLS:
        for name, dumps, loads in DIRECTIONS:
            a_lst, a_dct, a_node, a_tup = loads(dumps([lst, dct, node, tup], proto))
            where = f"{name}, protocol {proto}"
            assert a_lst[1] is a_lst, where
            assert a_dct["self"] is a_dct, where
            assert a_node.me is a_node, where
            assert a_tup[0][0] is a_tup, where


@pytest.mark.parametrize("proto", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_self_referencing_list_subclass_points_to_itself(proto):
    # Protocols 0 and 1 pass a list subclass's items as constructor
    # arguments, so a self-reference recurses forever there (in CPython too).
    sub = ListSub([0])
    sub.append(sub)
    sub.attr = sub
    for name, dumps, loads in DIRECTIONS:
        copy = loads(dumps(sub, proto))
        assert copy[1] is copy and copy.attr is copy, name


@pytest.mark.parametrize("obj", [-0.0, [-0.0, 0.0], {"z": -0.0}, complex(-0.0, -0.0)], ids=repr)
def test_negative_zero_keeps_its_sign(obj):
    check_round_trips(obj)


@pytest.mark.parametrize("nan", [math.nan, -math.nan, float("nan")], ids=["nan", "-nan", "nan2"])
def test_nan_stays_nan_inside_containers(nan):
    for proto in PROTOCOLS:
        for name, dumps, loads in DIRECTIONS:
            result = loads(dumps([nan, (nan,), {"k": nan}, nan], proto))
            assert math.isnan(result[0]) and math.isnan(result[1][0]), f"{name}, {proto}"
            assert math.isnan(result[2]["k"]) and math.isnan(result[3]), f"{name}, {proto}"


def _nested(kind, depth):
    obj = None
    for i in range(depth):
        if kind == "list":
            obj = [obj]
        elif kind == "tuple":
            obj = (obj, i)
        elif kind == "dict":
            obj = {i: obj}
        elif kind == "ListSub":
            obj = ListSub([obj])
        elif kind == "mixed":
            obj = [[obj], {"k": obj}, (obj, i)][i % 3]
    return obj


@pytest.fixture
def roomy_recursion_limit():
    # The C pickler spends about two recursion levels per nesting level, so it
    # refuses 500 levels under the default limit of 1000. With room to spare it
    # pickles them, and so must oxpickle.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10_000))
    yield
    sys.setrecursionlimit(old)


@pytest.mark.usefixtures("roomy_recursion_limit")
@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "ListSub", "mixed"])
def test_deeply_nested_containers_round_trip(kind):
    # 300 levels: C pickle on 3.12 counts C calls against a fixed limit of
    # 1,500 that the recursion limit does not raise, and a list subclass at
    # protocols 0 and 1 takes four per level (374 levels is its most).
    # oxpickle counts levels against the recursion limit on every version
    # (see test_bad_input).
    check_round_trips(_nested(kind, 300))


WIDE = {
    "list_of_ints": list(range(-50_000, 50_000)),
    "list_of_strs": [str(i) for i in range(20_000)],
    "tuple": tuple(range(10_000)),
    "dict": {i: str(i) for i in range(30_000)},
    "set": set(range(10_000)),
    "frozenset": frozenset(str(i) for i in range(5_000)),
    "same_str_repeated": ["repeated"] * 5_000,
    "big_str": "ab\u20ac" * 100_000,
    "big_bytes": bytes(range(256)) * 1_000,
    "big_bytearray": bytearray(b"\x01\x02") * 100_000,
    "big_int": 7**50_000,
    # Past 8 MiB, results are built in memory advised into huge pages.
    "huge_bytes": bytes(range(256)) * 40_000,
    "huge_bytearray": bytearray(b"\x01\x02\x03") * 3_000_000,
}


@pytest.mark.parametrize("name", WIDE)
def test_wide_containers_and_large_payloads_round_trip(name):
    check_round_trips(WIDE[name])


def test_dumps_of_any_size_after_any_other_is_whole():
    """A dumps buffer grows at once to the size of the thread's last result;
    a result larger or smaller than that one, right after it, is still whole
    and exact (the stdlib loads it back): tiny, just past the first 4 KiB,
    past the 32 MiB cap, and each size again after itself."""
    sizes = [40 << 20, 10, 5_000, 3 << 20, 3 << 20, 40 << 20, 40 << 20, 5_000, 0]
    for size in sizes:
        obj = [bytes([size % 251]) * size, size]
        assert pickle.loads(oxpickle.dumps(obj)) == obj, size


# --- byte-for-byte identity with the C pickler --------------------------------


def assert_byte_identical_to_c_pickle(obj, protocols=PROTOCOLS, **kwargs):
    """oxpickle's Pickler writes exactly the bytes of the C pickler; where the
    C pickler refuses, so does oxpickle. One-shot dumps() may leave out the
    memo entries of objects that cannot be reached twice (a deliberate speed
    and size win), so its bytes are checked by what they load to."""
    for proto in protocols:
        try:
            expected = pickle.dumps(obj, proto, **kwargs)
        except Exception as exc:
            for dumps in (oxpickle.dumps, _ox_dumps_via_pickler):
                with pytest.raises(type(exc)):
                    dumps(obj, proto, **kwargs)
            continue
        assert _ox_dumps_via_pickler(obj, proto, **kwargs) == expected, (
            f"Pickler.dump, protocol {proto}"
        )
        ours = oxpickle.dumps(obj, proto, **kwargs)
        assert len(ours) <= len(expected), f"dumps, protocol {proto}: larger than pickle's"
        assert_equivalent(pickle.loads(expected), pickle.loads(ours))


@pytest.mark.parametrize("value", EDGE_INTS)
def test_ints_at_every_width_dump_byte_identical_to_c_pickle(value):
    """Ints up to four 30-bit digits are read from the object itself, the
    rest through CPython: every opcode width and digit count, both signs."""
    assert_byte_identical_to_c_pickle([value, -value, value >> 1])


@given(obj=plain_data)
def test_plain_data_dumps_byte_identical_to_c_pickle(obj):
    assert_byte_identical_to_c_pickle(obj)


@given(graph=plain_graphs)
def test_shared_and_cyclic_plain_data_dumps_byte_identical_to_c_pickle(graph):
    assert_byte_identical_to_c_pickle(graph)


@pytest.mark.parametrize("name", WIDE)
def test_wide_and_large_data_dumps_byte_identical_to_c_pickle(name):
    assert_byte_identical_to_c_pickle(WIDE[name])


@pytest.mark.usefixtures("roomy_recursion_limit")
@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "mixed"])
def test_deep_data_dumps_byte_identical_to_c_pickle(kind):
    assert_byte_identical_to_c_pickle(_nested(kind, 500))


class _OverwritesWhenReduced:
    """Reduces to 0, after overwriting a buffer pickled before it."""

    def __init__(self, target: bytearray):
        self.target = target

    def __reduce__(self):
        self.target[:] = b"\xff" * len(self.target)
        return (int, (0,))


@pytest.mark.parametrize("size", [100, 100_000, 3 << 20])
def test_payloads_are_pickled_as_they_were_when_written(size):
    """A later reduce that changes an already-pickled buffer does not change
    the pickle: the bytes are taken when the buffer is written, at every size."""
    for dumps in (pickle.dumps, oxpickle.dumps, _ox_dumps_via_pickler):
        target = bytearray(size)
        stream = dumps([target, _OverwritesWhenReduced(target)], 5)
        assert target == b"\xff" * size
        assert pickle.loads(stream) == [bytearray(size), 0], dumps


def _with_namespace(error: BaseException) -> BaseException:
    """`error` with its (empty) __dict__ made. Reducers that read it (tblib's,
    which importing distributed installs for every exception) make it on
    first use, which changes the next reduce: each pickling here must see
    the same object."""
    error.__dict__  # noqa: B018
    return error


PY2_MAPPED_GLOBALS = [
    range(3),
    {1, 2},
    frozenset({3}),
    _with_namespace(ValueError("bad")),
    _with_namespace(OSError(2, "missing")),
    functools.reduce,
    collections.UserDict,
    itertools.filterfalse,
    str,
    bytes,
    type(None),
    bytearray(b"ab"),
    [len, int, dict, list, ord, chr, zip, map, filter, input],
]


@pytest.mark.parametrize("fix_imports", [True, False])
@pytest.mark.parametrize("obj", PY2_MAPPED_GLOBALS, ids=repr)
def test_python2_compatible_names_byte_identical_to_c_pickle(obj, fix_imports):
    assert_byte_identical_to_c_pickle(obj, fix_imports=fix_imports)


def test_default_protocol_is_5():
    assert oxpickle.DEFAULT_PROTOCOL == 5
    assert oxpickle.HIGHEST_PROTOCOL == pickle.HIGHEST_PROTOCOL == 5
    obj = {"a": [1, 2.5, "x"]}
    f = io.BytesIO()
    oxpickle.Pickler(f).dump(obj)
    assert f.getvalue() == pickle.dumps(obj, 5)
    for data in (oxpickle.dumps(obj), _dumped_to_file(obj)):
        assert data[:2] == b"\x80\x05"
        assert pickle.loads(data) == obj


def _dumped_to_file(obj):
    f = io.BytesIO()
    oxpickle.dump(obj, f)
    return f.getvalue()


@pytest.mark.parametrize("proto", [-1, -5])
def test_negative_protocol_means_highest(proto):
    obj = [1, "two", b"three"]
    assert oxpickle.dumps(obj, proto) == pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)


# --- NumPy and pandas ---------------------------------------------------------

NUMPY_DTYPES = [
    np.dtype(t)
    for t in (
        "?", "i1", "u1", "<i2", ">i4", "<u4", "<i8", "<u8", "<f2", "<f4", ">f8", "<c8", "<c16",
        "<M8[ns]", "<m8[s]", "<U3", "S4",
    )
] + [np.dtype([("a", "<i4"), ("b", "<f8")])]
LAYOUTS = ["C", "Fortran", "strided", "transposed", "readonly"]


@st.composite
def numpy_arrays(draw):
    dtype = draw(st.sampled_from(NUMPY_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    arr = draw(hnp.arrays(dtype, shape))
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "Fortran":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim:
        arr = arr[::2]
    elif layout == "transposed":
        arr = arr.T
    elif layout == "readonly":
        arr.flags.writeable = False
    return arr


def _check_array_against_stdlib(proto):
    def check(expected, actual):
        reference = pickle.loads(pickle.dumps(expected, proto))
        assert_arrays_equivalent(expected, actual, reference)

    return check


@given(arr=numpy_arrays())
def test_numpy_arrays_round_trip_both_ways(arr):
    for proto in PROTOCOLS:
        check_round_trips(arr, _check_array_against_stdlib(proto), protocols=[proto])


@pytest.mark.parametrize(
    "arr",
    [
        np.array(3.5),
        np.array([1, "a", None, (1, 2), [3]], dtype=object),
        np.array([[{"k": 1}, 2.5], [b"x", -0.0]], dtype=object),
        np.arange(24, dtype="<f8").reshape(2, 3, 4)[:, ::2, 1:],
        np.asfortranarray(np.arange(12, dtype=">i2").reshape(3, 4)),
        np.zeros((0, 3), dtype="<c16"),
        np.arange(100_000, dtype="<i8"),
    ],
    ids=["0-d", "object", "object-2d", "non-contiguous", "fortran-big-endian", "empty", "big"],
)
def test_numpy_array_examples_round_trip_both_ways(arr):
    for proto in PROTOCOLS:
        check_round_trips(arr, _check_array_against_stdlib(proto), protocols=[proto])


@given(arrays=st.lists(numpy_arrays(), max_size=8))
def test_arrays_pickle_as_numpy_reduces_them_without_asking_it(arrays):
    # The first exact ndarray of the process shows how NumPy reduces arrays;
    # later ones are written without asking (pickler/arrays.rs): same bytes,
    # same buffers, and NumPy's other reductions where it would use them.
    # Arrays of objects, between others, keep NumPy's list reduction.
    objects = np.array([1, "x", None], dtype=object)
    arrays = [
        np.arange(3.0), *arrays, objects, np.arange(2.0), np.arange(3.0).view(np.matrix),
        np.zeros(2, dtype="V0"), objects.copy(),
    ]

    def dumped(module, **kwargs):
        out, buffers = io.BytesIO(), []
        module.Pickler(out, 5, buffer_callback=buffers.append, **kwargs).dump(arrays)
        return out.getvalue(), [bytes(buffer.raw()) for buffer in buffers]

    assert dumped(oxpickle) == dumped(pickle)
    out = io.BytesIO()
    oxpickle.Pickler(out, 5).dump(arrays)
    assert out.getvalue() == _stdlib_pickler_bytes(arrays, 5)
    # What the stdlib makes of them is the reference: NumPy itself does
    # not bring back every byte order of a non-contiguous array.
    reloaded = pickle.loads(pickle.dumps(arrays, 5))
    for expected, actual in zip(reloaded, oxpickle.loads(oxpickle.dumps(arrays, 5)), strict=True):
        assert_arrays_equivalent(expected, actual, expected)


def test_arrays_held_only_by_their_container_leave_no_memo_entries():
    """In a dumps, an array only its list holds, and the buffer and shape
    written for it, cannot be reached twice: the memo stays the same size
    however many there are. A shared array is memoized once, and loads as
    one object."""

    def memo_entries(arrays):
        stream = oxpickle.dumps(arrays, 5)
        loaded = pickle.loads(stream)
        for expected, actual in zip(arrays, loaded, strict=True):
            assert_arrays_equivalent(expected, actual)
        identities = [id(a) for a in arrays]
        assert [identities.index(id(a)) for a in arrays] == [
            [id(a) for a in loaded].index(id(a)) for a in loaded
        ]
        return sum(op.name == "MEMOIZE" for op, _, _ in pickletools.genops(stream))

    def fresh(count):
        return [np.arange(float(i + 1)) for i in range(count)]

    # The process's first array goes through NumPy's reduce, to learn how.
    oxpickle.dumps(np.arange(1.0), 5)
    shared = np.arange(4.0)
    assert memo_entries(fresh(3)) == memo_entries(fresh(30))
    assert memo_entries([shared] * 30) == memo_entries([shared, shared])
    assert memo_entries([*fresh(3), shared, shared]) == memo_entries(fresh(3)) + 1


def _stdlib_pickler_bytes(obj, proto):
    out = io.BytesIO()
    pickle.Pickler(out, proto).dump(obj)
    return out.getvalue()


@pytest.mark.parametrize(
    "scalar",
    [np.float64(-0.0), np.float32(np.nan), np.int8(-3), np.uint64(2**64 - 1), np.bool_(True),
     np.complex128(1 - 2j), np.datetime64("2020-01-02T03:04"), np.str_("ü")],
    ids=repr,
)
def test_numpy_scalars_round_trip_both_ways(scalar):
    def check(expected, actual):
        assert type(actual) is type(expected)
        assert actual.tobytes() == expected.tobytes()

    check_round_trips(scalar, check)


def _tz_or_skip(key):
    try:
        return zoneinfo.ZoneInfo(key)
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip(f"time zone {key!r} is in neither tzdata nor the system tz database")


PARIS = "Europe/Paris" if "Europe/Paris" in zoneinfo.available_timezones() else None


@st.composite
def data_frames(draw):
    n = draw(st.integers(0, 6))

    def column(elements):
        return draw(st.lists(elements, min_size=n, max_size=n))

    frame = pd.DataFrame(
        {
            "int": np.array(column(st.integers(-(2**63), 2**63 - 1)), dtype="int64"),
            "float": np.array(column(floats), dtype="float64"),
            "text": column(st.text(max_size=5)),
            "category": pd.Categorical(column(st.sampled_from(["a", "b", "c"]))),
            "when": pd.date_range("2021-03-28", periods=n, freq="37min", tz=PARIS),
            "object": np.array(column(st.none() | ints | texts), dtype=object),
        },
        index=pd.Index(column(st.text(max_size=3)), name="key"),
    )
    return frame


@pytest.mark.skipif(PARIS is None, reason="Europe/Paris is missing from the tz database")
@given(frame=data_frames())
def test_pandas_data_frames_round_trip_both_ways(frame):
    check_round_trips(frame, lambda e, a: pd.testing.assert_frame_equal(a, e, check_exact=True))


@given(
    series=st.lists(floats, max_size=8).map(
        lambda xs: pd.Series(xs, index=pd.RangeIndex(len(xs)) * 2, name="values", dtype="float64")
    )
    | st.lists(st.text(max_size=4), max_size=8).map(lambda xs: pd.Series(xs, name=("a", 1)))
)
def test_pandas_series_round_trip_both_ways(series):
    check_round_trips(series, lambda e, a: pd.testing.assert_series_equal(a, e, check_exact=True))


# --- datetimes with time zones ------------------------------------------------

TIME_ZONE_KEYS = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@pytest.fixture(scope="module", params=TIME_ZONE_KEYS)
def time_zone(request):
    return _tz_or_skip(request.param)


@given(naive=st.datetimes(), fold=st.integers(0, 1))
def test_aware_datetimes_with_zoneinfo_round_trip_both_ways(time_zone, naive, fold):
    aware = naive.replace(tzinfo=time_zone, fold=fold)

    def check(expected, actual):
        assert_equivalent(expected, actual)
        assert actual.utcoffset() == expected.utcoffset()
        assert actual.tzname() == expected.tzname()

    check_round_trips(aware, check)
    check_round_trips(aware.timetz(), assert_equivalent)
    check_round_trips(time_zone, lambda e, a: (a is e) or pytest.fail(f"{a!r} is not {e!r}"))


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30), "NST")),
        dt.datetime.max,
        dt.time(23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(0)), fold=1),
        dt.date(2048, 1, 2),
        dt.timedelta(days=-999999999),
        dt.timezone.min,
    ],
    ids=repr,
)
def test_datetime_values_with_fixed_offsets_round_trip_both_ways(value):
    check_round_trips(value)


# --- stdlib value types, enums, callables -------------------------------------


@given(value=stdlib_values)
def test_decimal_fraction_uuid_datetime_enum_partial_round_trip_both_ways(value):
    check_round_trips(value)


@pytest.mark.parametrize(
    "member", list(Color) + list(Shape) + list(Perm) + [Perm.R | Perm.X, Mode.A | Mode.B]
)
def test_enum_members_load_as_the_same_object(member):
    check_round_trips(member, lambda e, a: (a is e) or pytest.fail(f"{a!r} is not {e!r}"))


@pytest.mark.parametrize(
    ("func", "arg"),
    [
        (functools.partial(int, base=2), "101"),
        (functools.partial(max, 1, 2, key=abs), -7),
        (functools.partial(functools.partial(sorted, reverse=True), key=len), ["aa", "b", "ccc"]),
        (_with_attrs(functools.partial(pow, 2), {"note": [1, 2]}), 10),
    ],
    ids=["kwargs", "args-and-kwargs", "nested", "with-attributes"],
)
def test_functools_partial_round_trips_both_ways(func, arg):
    def check(expected, actual):
        assert_equivalent(expected, actual)
        assert actual(arg) == expected(arg)

    check_round_trips(func, check)


BY_NAME = [
    len, math.sqrt, print, sorted, functools.reduce, operator.itemgetter, int, dict, list, object,
    type, type(None), type(NotImplemented), type(...), Ellipsis, NotImplemented, None, str.join,
    dict.fromkeys, int.__add__, collections.OrderedDict, uuid.UUID, decimal.Decimal, Color,
]


@pytest.mark.parametrize("obj", BY_NAME, ids=repr)
def test_builtin_functions_and_types_load_as_the_same_object(obj):
    def check(expected, actual):
        if isinstance(expected, types.BuiltinMethodType) and expected.__self__ is dict:
            # dict.fromkeys is a new bound classmethod object on every access.
            assert actual == expected
        else:
            assert actual is expected

    check_round_trips(obj, check)


# --- PEP 574: out-of-band buffers ---------------------------------------------

DUMPERS = {"oxpickle": oxpickle.dumps, "pickle": pickle.dumps}
LOADERS = {
    "oxpickle.loads": oxpickle.loads,
    "oxpickle.Unpickler": _ox_loads_via_unpickler,
    "pickle.loads": pickle.loads,
}
CROSS_PAIRS = [
    (dumper, loader)
    for dumper in DUMPERS
    for loader in LOADERS
    if (dumper == "oxpickle") != loader.startswith("oxpickle")
]


def _oob(dumps, obj, callback_result=None):
    buffers = []

    def callback(buf):
        buffers.append(buf)
        return callback_result

    return dumps(obj, 5, buffer_callback=callback), buffers


OOB_ARRAYS = {
    "C": np.arange(4096, dtype="<f8").reshape(64, 64),
    "Fortran": np.asfortranarray(np.arange(4096, dtype="<i4").reshape(64, 64)),
    "readonly": np.frombuffer(bytes(range(256)) * 16, dtype="u1"),
    "0-d": np.array(2.5),
}


@pytest.mark.parametrize(("dumper", "loader"), CROSS_PAIRS)
@pytest.mark.parametrize("layout", OOB_ARRAYS)
def test_numpy_out_of_band_buffers_cross_load(layout, dumper, loader):
    arr = OOB_ARRAYS[layout]
    data, buffers = _oob(DUMPERS[dumper], arr)
    ref_data, ref_buffers = _oob(pickle.dumps, arr)
    assert len(buffers) == len(ref_buffers) >= 1
    assert [bytes(b) for b in buffers] == [bytes(b) for b in ref_buffers]
    if arr.nbytes >= 256:
        assert arr.tobytes(order="A")[:256] not in data, "payload was written in band"
    loaded = LOADERS[loader](data, buffers=buffers)
    reference = pickle.loads(ref_data, buffers=ref_buffers)
    assert_arrays_equivalent(arr, loaded, reference)
    assert np.shares_memory(loaded, arr) == np.shares_memory(reference, arr)


@pytest.mark.parametrize(("dumper", "loader"), CROSS_PAIRS)
def test_pandas_frame_out_of_band_buffers_cross_load(dumper, loader):
    frame = pd.DataFrame({"a": np.arange(1000.0), "b": np.arange(1000) % 7})
    data, buffers = _oob(DUMPERS[dumper], frame)
    assert buffers, "no buffer went out of band"
    loaded = LOADERS[loader](data, buffers=buffers)
    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)


@pytest.mark.parametrize("loader", LOADERS)
def test_out_of_band_stream_needs_its_buffers(loader):
    data, buffers = _oob(oxpickle.dumps, OOB_ARRAYS["C"])
    with pytest.raises(pickle.UnpicklingError):
        LOADERS[loader](data)
    with pytest.raises(pickle.UnpicklingError):
        LOADERS[loader](data, buffers=[])


@pytest.mark.parametrize("dumps", [oxpickle.dumps, _ox_dumps_via_pickler], ids=["dumps", "Pickler"])
@pytest.mark.parametrize("proto", range(5))
def test_buffer_callback_needs_protocol_5(dumps, proto):
    with pytest.raises(ValueError):
        dumps(pickle.PickleBuffer(b"abc"), proto, buffer_callback=[].append)


@pytest.mark.parametrize("proto", range(5))
def test_picklebuffer_needs_protocol_5(proto):
    with pytest.raises(pickle.PicklingError):
        oxpickle.dumps(pickle.PickleBuffer(bytearray(b"abc")), proto)


@pytest.mark.parametrize(("dumper", "loader"), CROSS_PAIRS)
@pytest.mark.parametrize("source", [bytearray(b"writable!"), b"readonly!"], ids=["rw", "ro"])
def test_picklebuffer_in_band_loads_as_bytearray_or_bytes(source, dumper, loader):
    data = DUMPERS[dumper](pickle.PickleBuffer(source), 5)
    loaded = LOADERS[loader](data)
    assert type(loaded) is type(source)
    assert loaded == source


@pytest.mark.parametrize(("dumper", "loader"), CROSS_PAIRS)
@pytest.mark.parametrize("source", [bytearray(b"writable!"), b"readonly!"], ids=["rw", "ro"])
def test_picklebuffer_out_of_band_keeps_writability(source, dumper, loader):
    data, buffers = _oob(DUMPERS[dumper], pickle.PickleBuffer(source))
    ref_data, ref_buffers = _oob(pickle.dumps, pickle.PickleBuffer(source))
    assert len(buffers) == 1
    loaded = LOADERS[loader](data, buffers=buffers)
    reference = pickle.loads(ref_data, buffers=ref_buffers)
    assert type(loaded) is type(reference)
    assert bytes(loaded) == bytes(source)
    readonly = isinstance(source, bytes)
    assert memoryview(loaded).readonly == memoryview(reference).readonly == readonly
    if isinstance(source, bytearray):
        # A writable buffer is handed back as the very object passed in.
        assert loaded is buffers[0]
        assert reference is ref_buffers[0]


@pytest.mark.parametrize("source", [bytearray(b"writable!"), b"readonly!"], ids=["rw", "ro"])
def test_picklebuffer_dumps_byte_identical_to_c_pickle(source):
    assert_byte_identical_to_c_pickle(pickle.PickleBuffer(source), protocols=[5])
    for callback_result in (None, True, False):
        assert _oob(oxpickle.dumps, pickle.PickleBuffer(source), callback_result)[0] == (
            _oob(pickle.dumps, pickle.PickleBuffer(source), callback_result)[0]
        )


@pytest.mark.parametrize("loader", LOADERS)
def test_out_of_band_buffers_may_be_plain_bytes_like_objects(loader):
    arr = np.arange(1000, dtype="<i8")
    data, buffers = _oob(oxpickle.dumps, arr)
    given_buffers = [bytearray(bytes(b)) for b in buffers]
    loaded = LOADERS[loader](data, buffers=iter(given_buffers))
    ref = pickle.loads(data, buffers=iter([bytearray(bytes(b)) for b in buffers]))
    assert_arrays_equivalent(arr, loaded, ref)


@pytest.mark.parametrize("dumper", DUMPERS)
def test_true_from_buffer_callback_keeps_the_buffer_in_band(dumper):
    arr = np.arange(1000, dtype="<i8")
    data, buffers = _oob(DUMPERS[dumper], arr, callback_result=True)
    assert len(buffers) == 1
    assert arr.tobytes()[:256] in data
    for load in LOADERS.values():
        np.testing.assert_array_equal(load(data), arr)


@pytest.mark.parametrize("dumper", DUMPERS)
@pytest.mark.parametrize("make", ["array", "PickleBuffer"])
def test_a_buffer_the_callback_keeps_in_band_and_the_dump_reaches_again_is_one_object(
    dumper, make
):
    """A buffer_callback that keeps the buffer where the dump reaches it
    again, and leaves it in band: the second visit is a memo reference, as
    in C pickle, whether the buffer is an array's or the caller's own."""
    oxpickle.dumps(np.arange(1.0), 5)  # learn the array reduction
    kept = []

    def keep_in_band(buffer):
        if not kept:
            kept.append(buffer)
        return True

    data = bytearray(b"abcdefgh")
    # Only the list holds the first object, as only its tuple holds an
    # array's buffer.
    objs = [np.frombuffer(data, "u1").copy() if make == "array" else pickle.PickleBuffer(data)]
    objs.append(kept)
    loaded, (again,) = pickle.loads(DUMPERS[dumper](objs, 5, buffer_callback=keep_in_band))
    again[0] = 0x7A  # written through the kept buffer, seen by the first object
    assert loaded[0] == 0x7A


class _RecordsItself:
    """Reduces to a new instance, after recording itself in a list the dump
    reaches later."""

    def __init__(self, registry):
        self.registry = registry

    def __reduce__(self):
        if not any(item is self for item in self.registry):
            self.registry.append(self)
        return (_RecordsItself, ([],))


@pytest.mark.parametrize("dumper", DUMPERS)
def test_an_object_its_reducer_records_where_the_dump_reaches_it_again_is_one_object(dumper):
    """Only the list holds the object when it is reached, so it needs no memo
    entry by its reference count; its reducer then keeps it where the walk
    finds it again, which C pickle writes as a memo reference."""
    registry = []
    loaded, (again,) = pickle.loads(DUMPERS[dumper]([_RecordsItself(registry), registry], 5))
    assert loaded is again


# --- Python 2 pickles ---------------------------------------------------------


def _py2_node_pickles():
    mod = Node.__module__.encode()
    return {
        # copy_reg._reconstructor, as Python 2 pickled a new-style instance.
        "reconstructor_p0": (
            b"ccopy_reg\n_reconstructor\np0\n(c" + mod + b"\nNode\np1\nc__builtin__\nobject\n"
            b"p2\nNtp3\nRp4\n(dp5\nS'a'\np6\nI1\nsS'b'\np7\nVt\\u00e9\np8\nsb."
        ),
        # INST / OBJ, as Python 2 pickled an old-style (classic) instance.
        "classic_instance_p0": b"(i" + mod + b"\nNode\np0\n(dp1\nS'a'\np2\nI1\nsb.",
        "classic_instance_p1": b"(c" + mod + b"\nNode\nq\x00oq\x01}q\x02U\x01aq\x03K\x01sb.",
    }


PY2_PICKLES = {
    "str_p0": b"S'abc'\np0\n.",
    "str_non_ascii_p0": b"S'caf\\xc3\\xa9'\np0\n.",
    "str_non_ascii_p1": b"U\x05caf\xc3\xa9q\x00.",
    "str_non_ascii_p2": b"\x80\x02U\x05caf\xc3\xa9q\x00.",
    "long_str_p1": b"T,\x01\x00\x00" + b"x" * 300 + b"q\x00.",
    "unicode_p0": b"Vabc\\u20ac\np0\n.",
    "unicode_p2": b"\x80\x02X\x03\x00\x00\x00\xcf\x80!q\x00.",
    "set_p0": b"c__builtin__\nset\np0\n((lp1\nI1\naI2\natp2\nRp3\n.",
    "set_p2": b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.",
    "dict_p0": b"(dp0\nS'a'\np1\nI1\nsS'b'\np2\n(lp3\nF1.5\naNaI01\naI00\nas.",
    "tuple_with_long_p1": b"(K\x01L2L\nU\x01xtq\x00.",
    "long_p2": b"\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.",
    "xrange_p2": b"\x80\x02c__builtin__\nxrange\nq\x00K\x00K\x05K\x01\x87q\x01Rq\x02.",
    "exception_p0": b"cexceptions\nValueError\np0\n(S'bad'\np1\ntp2\nRp3\n.",
    "datetime_p0": (
        b"cdatetime\ndatetime\np0\n(S'\\x07\\xe4\\x01\\x02\\x03\\x04\\x05\\x00\\x00\\x06'"
        b"\np1\ntp2\nRp3\n."
    ),
    "datetime_p2": (
        b"\x80\x02cdatetime\ndatetime\nq\x00U\n\x07\xe4\x01\x02\x03\x04\x05\x00\x00\x06"
        b"q\x01\x85q\x02Rq\x03."
    ),
    "date_ascii_state_p2": (
        b"\x80\x02cdatetime\ndate\nq\x00U\x04\x08\x00\x01\x02q\x01\x85q\x02Rq\x03."
    ),
    "decimal_p0": b"cdecimal\nDecimal\np0\n(S'1.5'\np1\ntp2\nRp3\n.",
    "ordereddict_p2": (
        b"\x80\x02ccollections\nOrderedDict\nq\x00]q\x01]q\x02(U\x01aq\x03K\x01ea\x85q\x04Rq\x05."
    ),
    "userdict_p0": b"(iUserDict\nUserDict\np0\n(dp1\nS'data'\np2\n(dp3\nS'a'\np4\nI1\nssb.",
    **_py2_node_pickles(),
}
PY2_DECODINGS = [
    {},
    {"encoding": "ASCII", "errors": "replace"},
    {"encoding": "latin1"},
    {"encoding": "bytes"},
    {"encoding": "utf-8"},
    {"encoding": "utf-8", "errors": "surrogateescape"},
    {"encoding": "koi8-r"},
]


def _outcome(load, data, **kwargs):
    try:
        return load(data, **kwargs), None
    except Exception as exc:
        return None, exc


@pytest.mark.parametrize("fix_imports", [True, False])
@pytest.mark.parametrize("name", PY2_PICKLES)
def test_python2_pickles_load_like_the_stdlib(name, fix_imports):
    data = PY2_PICKLES[name]
    loaded_somehow = False
    for kwargs in PY2_DECODINGS:
        kwargs = {**kwargs, "fix_imports": fix_imports}
        expected, expected_exc = _outcome(pickle.loads, data, **kwargs)
        loaded_somehow |= expected_exc is None
        for load in (oxpickle.loads, _ox_loads_via_unpickler):
            actual, actual_exc = _outcome(load, data, **kwargs)
            where = f"{load.__name__}(**{kwargs})"
            if expected_exc is not None:
                assert isinstance(actual_exc, type(expected_exc)), (
                    f"{where}: stdlib raised {expected_exc!r}, got {actual_exc!r} / {actual!r}"
                )
            else:
                assert actual_exc is None, f"{where}: stdlib loaded {expected!r}; {actual_exc!r}"
                try:
                    assert_equivalent(expected, actual)
                except AssertionError as exc:
                    exc.add_note(where)
                    raise
    if fix_imports:
        assert loaded_somehow, "fixture does not load with any decoding: it is malformed"


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("datetime_p2", {"encoding": "latin1"}, dt.datetime(2020, 1, 2, 3, 4, 5, 6)),
        ("datetime_p2", {"encoding": "bytes"}, dt.datetime(2020, 1, 2, 3, 4, 5, 6)),
        ("datetime_p0", {"encoding": "latin1"}, dt.datetime(2020, 1, 2, 3, 4, 5, 6)),
        ("datetime_p0", {"encoding": "bytes"}, dt.datetime(2020, 1, 2, 3, 4, 5, 6)),
        ("date_ascii_state_p2", {}, dt.date(2048, 1, 2)),
        ("str_p0", {}, "abc"),
        ("str_p0", {"encoding": "bytes"}, b"abc"),
        ("str_non_ascii_p2", {"encoding": "latin1"}, "caf\xc3\xa9"),
        ("str_non_ascii_p2", {"encoding": "utf-8"}, "café"),
        ("unicode_p0", {"encoding": "bytes"}, "abc€"),
        ("set_p0", {}, {1, 2}),
        ("xrange_p2", {}, range(5)),
        ("long_p2", {}, 2**64),
        ("ordereddict_p2", {}, collections.OrderedDict(a=1)),
        ("userdict_p0", {}, collections.UserDict(a=1)),
    ],
)
def test_python2_pickles_give_the_documented_values(name, kwargs, expected):
    for load in (oxpickle.loads, _ox_loads_via_unpickler):
        assert_equivalent(expected, load(PY2_PICKLES[name], **kwargs))


def test_python2_datetime_needs_a_byte_preserving_encoding():
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(PY2_PICKLES["datetime_p2"])
    with pytest.raises(UnicodeDecodeError):
        oxpickle.loads(PY2_PICKLES["datetime_p2"])


class _DumpsWhenReduced:
    """Pickles a shared list of its own from inside its reduce."""

    def __reduce__(self):
        inner = ["inner"]
        return (bytes, (oxpickle.dumps([inner, inner]),))


class _DumpsWhenFreed:
    """Pickles a shared list when collected."""

    seen: list = []

    def __del__(self):
        inner = ["freed"]
        _DumpsWhenFreed.seen.append(pickle.loads(oxpickle.dumps([inner, inner])))


class _ReducesToATemporary:
    """Reduces through an object that only the dump's memo keeps alive once
    the reduce is written, so it is freed as the memo is emptied."""

    def __reduce__(self):
        temporary = _DumpsWhenFreed()
        return (tuple, ([temporary, temporary],))


class _Memoized:
    pass


def test_dumps_inside_dumps_keeps_each_memo_apart():
    """A dump started while another runs (from a reduce, or from a __del__
    as the memo is emptied) gets a memo of its own, and each keeps its
    back-references."""
    shared = ["outer"]
    outer = oxpickle.loads(oxpickle.dumps([shared, _DumpsWhenReduced(), shared]))
    assert outer[0] is outer[2]
    inner = pickle.loads(outer[1])
    assert inner[0] is inner[1] and inner[0] == ["inner"]
    _DumpsWhenFreed.seen.clear()
    oxpickle.dumps(_ReducesToATemporary())
    assert [loaded[0] is loaded[1] for loaded in _DumpsWhenFreed.seen] == [True]
    after = oxpickle.loads(oxpickle.dumps([shared, shared]))
    assert after[0] is after[1]


def test_objects_a_dump_memoized_are_released_when_it_ends():
    """The memo table is kept for the next dump, the objects it listed are not."""
    shared = _Memoized()
    witness = weakref.ref(shared)
    oxpickle.dumps([shared, shared])
    del shared
    assert witness() is None
