"""Restricted loading: ``allow=`` resolves only listed globals, calls and
BUILDs act only on what the allowlist provided, and ``Limits`` bound what a
small input can ask for.

Every hostile stream here is hand-assembled; none of them may import, call
or allocate anything outside the allowlist. Memory bombs run in a child
interpreter that reports its peak RSS growth.
"""

import collections
import copyreg
import datetime
import decimal
import fractions
import io
import os
import pickle
import struct
import uuid
import zoneinfo

import numpy as np
import oxpickle
import pytest
from child import run_child

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
DUMPERS = {"pickle": pickle.dumps, "oxpickle": oxpickle.dumps}

DATA_VALUES = {
    "scalars": [None, True, 1, -(2**100), 1.5, "text", "é", b"bytes", bytearray(b"ba")],
    "containers": ([1, (2, 3)], {"k": {4}}, frozenset({5}), set()),
    "complex": 1 + 2j,
    "slice": slice(1, 10, 2),
    "range": range(1, 10, 3),
    "ellipsis": (Ellipsis, NotImplemented),
    "date": datetime.date(2024, 2, 29),
    "time": datetime.time(1, 2, 3, 4, tzinfo=datetime.UTC),
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    "datetime offset": datetime.datetime(
        2024, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=-5), "EST")
    ),
    "zoneinfo": datetime.datetime(2024, 7, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    "timedelta max": datetime.timedelta.max,
    "decimal": decimal.Decimal("-1.250E+7"),
    "fraction": fractions.Fraction(-7, 3),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "ordereddict": collections.OrderedDict(b=1, a=2),
    "deque": collections.deque([1, 2], maxlen=5),
    "counter": collections.Counter("abracadabra"),
    "defaultdict list": collections.defaultdict(list, {"a": [1]}),
    "defaultdict int": collections.defaultdict(int, {"a": 3}),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("dumper", DUMPERS)
@pytest.mark.parametrize("name", DATA_VALUES)
def test_data_profile_loads_what_either_pickler_writes(name, dumper, protocol):
    value = DATA_VALUES[name]
    loaded = oxpickle.loads(DUMPERS[dumper](value, protocol=protocol), allow="data")
    assert loaded == value
    assert type(loaded) is type(value)
    if isinstance(value, collections.defaultdict):
        assert loaded.default_factory is value.default_factory


NUMPY_VALUES = {
    "ints": np.arange(12).reshape(3, 4),
    "fortran floats": np.asfortranarray(np.ones((3, 2), dtype="f4")),
    "scalar": np.float64(2.5),
    "dtype": np.dtype("<i8"),
    "structured": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    "datetime64": np.array(["2020-01-01"], dtype="M8[D]"),
    "strings": np.array(["ab", "c"]),
    "object of data": np.array([1, "a", None], dtype=object),
    "masked": np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
}


def same_array(a, b):
    return type(a) is type(b) and repr(a) == repr(b)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", NUMPY_VALUES)
def test_numpy_profile_loads_arrays_scalars_and_dtypes(name, protocol):
    value = NUMPY_VALUES[name]
    assert same_array(oxpickle.loads(pickle.dumps(value, protocol=protocol), allow="numpy"), value)


def test_numpy_out_of_band_buffers_load_restricted():
    array = np.arange(1000.0)
    buffers = []
    data = oxpickle.dumps(array, protocol=5, buffer_callback=buffers.append)
    loaded = oxpickle.loads(data, buffers=buffers, allow="numpy")
    assert np.array_equal(loaded, array)


def test_object_arrays_need_their_items_globals_too():
    data = pickle.dumps(np.array([decimal.Decimal("1.5")], dtype=object))
    with pytest.raises(oxpickle.UnsafePickleError, match="decimal.Decimal"):
        oxpickle.loads(data, allow="numpy")
    assert oxpickle.loads(data, allow=["numpy", "data"])[0] == decimal.Decimal("1.5")


# --- globals outside the allowlist --------------------------------------------


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is Point and other.x == self.x


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text):
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _stack_global(module, name):
    return _str(module) + _str(name) + b"\x93"


# Each names os.system (or a path to it) through a different opcode.
HOSTILE_GLOBALS = {
    "GLOBAL": _global("os", "system") + b"X\x02\x00\x00\x00id\x85R.",
    "STACK_GLOBAL": b"\x80\x04" + _stack_global("os", "system") + b"X\x02\x00\x00\x00id\x85R.",
    "INST": b"(S'id'\nios\nsystem\n.",
    "OBJ": b"(" + _global("os", "system") + b"S'id'\no.",
    "python 2 name": _global("__builtin__", "eval") + b"(S'1'\ntR.",
    "dotted walk": b"\x80\x04" + _stack_global("collections", "OrderedDict.__init__") + b".",
    "module walk": b"\x80\x04" + _stack_global("collections", "abc.Callable") + b".",
    "getattr of unlisted": _global("builtins", "getattr")
    + _global("zoneinfo", "ZoneInfo")
    + b"X\t\x00\x00\x00from_file\x86R.",
    "getattr of a module": _global("builtins", "getattr")
    + _global("builtins", "object")
    + b"X\x0e\x00\x00\x00__subclasses__\x86R.",
}


@pytest.mark.parametrize("name", HOSTILE_GLOBALS)
def test_globals_outside_the_allowlist_are_refused(name, monkeypatch):
    imported = []
    real_import = __import__
    monkeypatch.setattr(
        "builtins.__import__", lambda n, *a, **k: imported.append(n) or real_import(n, *a, **k)
    )
    with pytest.raises(oxpickle.UnsafePickleError) as refusal:
        oxpickle.loads(HOSTILE_GLOBALS[name], allow="data")
    assert isinstance(refusal.value, pickle.UnpicklingError)
    assert "os" not in imported
    message = str(refusal.value)
    assert " at byte " in message and "allow=" in message


def test_refusal_names_module_name_opcode_offset_and_remedy():
    with pytest.raises(oxpickle.UnsafePickleError) as refusal:
        oxpickle.loads(b"\x80\x04" + _stack_global("os", "system") + b".", allow="data")
    message = str(refusal.value)
    assert message.startswith("STACK_GLOBAL at byte 14: global 'os.system' is not allowed")
    assert 'add "os:system" to allow=' in message


def test_ext_codes_are_checked_like_globals():
    copyreg.add_extension("os", "getcwd", 0x7FFF01)
    try:
        with pytest.raises(oxpickle.UnsafePickleError, match="os.getcwd"):
            oxpickle.loads(b"\x80\x02\x84\x01\xff\x7f\x00)R.", allow="data")
        # A cached resolution from an earlier trusted load changes nothing.
        assert oxpickle.loads(b"\x80\x02\x84\x01\xff\x7f\x00)R.") == os.getcwd()
        with pytest.raises(oxpickle.UnsafePickleError, match="os.getcwd"):
            oxpickle.loads(b"\x80\x02\x84\x01\xff\x7f\x00)R.", allow="data")
    finally:
        copyreg.remove_extension("os", "getcwd", 0x7FFF01)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_listed_classes_load_by_either_spelling(protocol):
    data = pickle.dumps([Point(1), Point(2)], protocol=protocol)
    # Protocols 0 and 1 rebuild instances with copyreg._reconstructor and
    # builtins.object, which the data profile lists.
    extra = ["data"] if protocol < 2 else []
    for spelling in (f"{__name__}.Point", f"{__name__}:Point"):
        assert oxpickle.loads(data, allow=[spelling, *extra]) == [Point(1), Point(2)]
    with pytest.raises(oxpickle.UnsafePickleError, match="Point"):
        oxpickle.loads(data, allow="data")


def test_an_empty_allowlist_still_loads_plain_data():
    value = {"a": [1, 2.5, None, b"x"], "b": (True, "s")}
    assert oxpickle.loads(pickle.dumps(value), allow=[]) == value
    with pytest.raises(oxpickle.UnsafePickleError):
        oxpickle.loads(pickle.dumps(datetime.date(2020, 1, 1)), allow=[])


@pytest.mark.parametrize(
    ("allow", "error"),
    [
        ("nosuch", ValueError),
        (["data", "os.system()"], ValueError),
        ([b"data"], TypeError),
        (42, TypeError),
    ],
)
def test_bad_allow_arguments_say_what_is_accepted(allow, error):
    with pytest.raises(error, match="allow="):
        oxpickle.loads(pickle.dumps(1), allow=allow)


# --- calls and BUILD act only on what the allowlist provided ------------------


REFUSED_UNDER_DATA = {
    # OrderedDict() is allowed; calling the instance it returns is not.
    "REDUCE on a made object": (
        _global("collections", "OrderedDict") + b")R)R.",
        "REDUCE .*did not come from the allow",
    ),
    "BUILD on a plain dict": (b"\x80\x02}q\x00}q\x01X\x01\x00\x00\x00aK\x01sb.", "BUILD on a dict"),
    "Fraction with an exponent": (
        _global("fractions", "Fraction") + b"X\x0b\x00\x00\x001e999999999\x85R.",
        "exponent",
    ),
    "codecs other than latin1": (
        _global("_codecs", "encode") + b"X\x02\x00\x00\x00hiX\x04\x00\x00\x00zlib\x86R.",
        "codec 'latin1'",
    ),
}


@pytest.mark.parametrize("name", REFUSED_UNDER_DATA)
def test_calls_and_builds_the_data_profile_refuses(name):
    data, message = REFUSED_UNDER_DATA[name]
    with pytest.raises(oxpickle.UnsafePickleError, match=message):
        oxpickle.loads(data, allow="data")


def test_newobj_needs_an_allowed_class():
    data = b"\x80\x02" + _global("builtins", "object") + b")\x81."
    assert type(oxpickle.loads(data, allow="data")) is object
    with pytest.raises(oxpickle.UnsafePickleError, match="builtins.object"):
        oxpickle.loads(data, allow=[])


def test_persistent_ids_need_a_persistent_load():
    data = b"\x80\x02X\x03\x00\x00\x00pidQ."
    with pytest.raises(oxpickle.UnsafePickleError, match="persistent_load"):
        oxpickle.loads(data, allow="data")
    assert oxpickle.loads(data, allow="data", persistent_load=str.upper) == "PID"


def test_unpickler_class_takes_allow_and_keeps_it_for_every_load():
    stream = io.BytesIO(pickle.dumps(decimal.Decimal("2")) + pickle.dumps(Point(3)))
    unpickler = oxpickle.Unpickler(stream, allow="data")
    assert unpickler.load() == decimal.Decimal("2")
    with pytest.raises(oxpickle.UnsafePickleError, match="Point"):
        unpickler.load()


def test_an_overriding_find_class_cannot_widen_the_allowlist():
    class Lenient(oxpickle.Unpickler):
        def find_class(self, module, name):
            return super().find_class(module, name)

    with pytest.raises(oxpickle.UnsafePickleError, match="os.system"):
        Lenient(io.BytesIO(HOSTILE_GLOBALS["GLOBAL"]), allow="data").load()


def test_unrestricted_loads_are_unchanged():
    assert oxpickle.loads(pickle.dumps(Point(5))) == Point(5)


# --- limits -------------------------------------------------------------------


def test_limits_defaults_and_repr():
    limits = oxpickle.Limits()
    assert limits == oxpickle.Limits(max_depth=10_000)
    assert limits.max_allocation == 2**30
    assert "max_memo_entries=67108864" in repr(limits)
    with pytest.raises(TypeError):
        oxpickle.Limits(10)


def test_depth_limit():
    data = b"(" * 50 + b"N" + b"t" * 50 + b"."
    assert oxpickle.loads(data, limits=oxpickle.Limits(max_depth=50)) is not None
    with pytest.raises(oxpickle.UnsafePickleError, match="deeper than 49 MARKs"):
        oxpickle.loads(data, limits=oxpickle.Limits(max_depth=49))


def test_memo_entry_limit():
    data = pickle.dumps([str(i) for i in range(100)], protocol=4)
    assert len(oxpickle.loads(data, limits=oxpickle.Limits(max_memo_entries=101))) == 100
    with pytest.raises(oxpickle.UnsafePickleError, match="more than 50 memo entries"):
        oxpickle.loads(data, limits=oxpickle.Limits(max_memo_entries=50))


def test_allocation_limits_can_be_raised_for_trusted_data():
    data = _global("builtins", "bytearray") + b"J\x00\x00\x20\x00\x85R."  # 2 MiB
    with pytest.raises(oxpickle.UnsafePickleError, match="allocation_ratio"):
        oxpickle.loads(data, allow="data")
    loose = oxpickle.Limits(allocation_ratio=2**20)
    assert len(oxpickle.loads(data, allow="data", limits=loose)) == 2 * 2**20


def _i8(value):
    return b"\x8a\x08" + struct.pack("<q", value)


TEN_GB = 10**10
BYTEARRAY_TEN_GB = _global("builtins", "bytearray") + _i8(TEN_GB) + b"\x85R."
NEWOBJ_EX_BYTES = (
    b"\x80\x04" + _global("builtins", "bytes") + b")}" + _str("source") + _i8(TEN_GB) + b"s\x92."
)
# Each asks for about 10 GB (or a million levels, or memo slot 2**32-1)
# from a few dozen bytes; the first item is allow= (None: a trusted load).
BOMBS = {
    "bytearray(n)": ("data", BYTEARRAY_TEN_GB),
    "bytearray(n), trusted": (None, BYTEARRAY_TEN_GB),
    "bytes(n)": ("data", _global("builtins", "bytes") + _i8(TEN_GB) + b"\x85R."),
    "NEWOBJ bytes": (
        "data",
        b"\x80\x02" + _global("builtins", "bytes") + _i8(TEN_GB) + b"\x85\x81.",
    ),
    "NEWOBJ bytes, trusted": (
        None,
        b"\x80\x02" + _global("builtins", "bytes") + _i8(TEN_GB) + b"\x85\x81.",
    ),
    "NEWOBJ_EX bytes(source=n)": ("data", NEWOBJ_EX_BYTES),
    "NEWOBJ_EX bytes(source=n), trusted": (None, NEWOBJ_EX_BYTES),
    "NEWOBJ ndarray": (
        "numpy",
        b"\x80\x02" + _global("numpy", "ndarray") + _i8(TEN_GB) + b"\x85\x81.",
    ),
    "list(range(n))": (
        "data",
        _global("builtins", "list") + _global("builtins", "range") + _i8(TEN_GB) + b"\x85R\x85R.",
    ),
    "reconstructor bytes": (
        "data",
        _global("copyreg", "_reconstructor")
        + _global("builtins", "bytes")
        + _global("builtins", "bytes")
        + _i8(TEN_GB)
        + b"\x87R.",
    ),
    "many small": (
        "data",
        b"(" + (_global("builtins", "bytearray") + b"J\x00\x00\x00\x04\x85R") * 16 + b"l.",
    ),
    "numpy shape": (
        "numpy",
        _global("numpy._core.multiarray", "_reconstruct")
        + _global("numpy", "ndarray")
        + b"J\x00\x00\x01\x00J\x00\x00\x01\x00\x86C\x01b\x87R.",
    ),
    "deep marks, trusted": (None, b"(" * 2_000_000 + b"."),
}


def _peak_growth_in_child(allow, data, tmp_path):
    """Loads ``data`` in a fresh interpreter; returns what happened and the
    peak RSS growth in KiB."""
    path = tmp_path / "bomb.pickle"
    path.write_bytes(data)
    return run_child(
        f"""
        import json, resource, numpy, oxpickle

        def peak_kib():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        data = open({str(path)!r}, "rb").read()
        oxpickle.loads(oxpickle.dumps([b"warm", "up"]))
        before = peak_kib()
        try:
            outcome = "loaded " + repr(oxpickle.loads(data, allow={allow!r}))[:50]
        except oxpickle.UnsafePickleError as exc:
            outcome = "refused: " + str(exc)
        print(json.dumps({{"outcome": outcome, "growth_kib": peak_kib() - before}}))
        """
    )


@pytest.mark.parametrize("name", BOMBS)
def test_a_small_pickle_cannot_ask_for_gigabytes(name, tmp_path):
    allow, data = BOMBS[name]
    result = _peak_growth_in_child(allow, data, tmp_path)
    assert result["outcome"].startswith("refused: "), result
    assert result["growth_kib"] < 50 * 1024, result


def test_far_memo_indices_cost_nothing(tmp_path):
    data = b"N" + b"r\xff\xff\xff\xff" + b"r\x00\x00\x00\x80" + b"j\xff\xff\xff\xff."
    result = _peak_growth_in_child("data", data, tmp_path)
    assert result["outcome"] == "loaded None"
    assert result["growth_kib"] < 50 * 1024, result
