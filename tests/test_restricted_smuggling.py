"""Calls smuggled past restricted loading's checks through an instance's
own attributes.

An earlier BUILD can put an allowed callable into an allowed object's
``__dict__`` under a method's name. BUILD then looks up ``__setstate__``,
and APPENDS/ADDITEMS look up ``extend``/``append``/``add``. CPython finds the
instance's attribute and calls it with arguments the pickle chose, past
every argument rule. Each stream here is first shown to make that call
under the stdlib. Restricted loading must not make it.
"""

import pickle

import oxpickle
import pytest

calls: list[object] = []


def record(*args):
    """Stands for an allowed callable whose arguments have rules (bytearray
    asked for gigabytes, say): it records that it was called."""
    calls.append(args)


MODULE = __name__.encode()
RECORD = b"c" + MODULE + b"\nrecord\n"
ORDERED_DICT = b"ccollections\nOrderedDict\n)R"
ALLOW = ["data", f"{__name__}:record"]


def plant(method: bytes) -> bytes:
    """An OrderedDict (allowed, with a __dict__) whose __dict__ gets `record`
    under `method` by BUILD."""
    return ORDERED_DICT + b"}X" + len(method).to_bytes(4, "little") + method + RECORD + b"sb"


STREAMS = {
    # BUILD after BUILD: the second calls the planted __setstate__.
    "BUILD __setstate__": b"\x80\x02" + plant(b"__setstate__") + b"J\x00\x00\x00\x80b.",
    # APPENDS finds no extend, then calls the planted append per item.
    "APPENDS append": b"\x80\x02" + plant(b"append") + b"(J\x00\x00\x00\x80e.",
    # APPENDS calls the planted extend with the items.
    "APPENDS extend": b"\x80\x02" + plant(b"extend") + b"(J\x00\x00\x00\x80e.",
    # ADDITEMS calls the planted add per item.
    "ADDITEMS add": b"\x80\x04" + plant(b"add") + b"(J\x00\x00\x00\x80\x90.",
    # APPEND (one item) goes the same way as APPENDS.
    "APPEND append": b"\x80\x02" + plant(b"append") + b"J\x00\x00\x00\x80a.",
}


@pytest.fixture(autouse=True)
def _no_calls_yet():
    calls.clear()
    yield
    calls.clear()


@pytest.mark.parametrize("stream", STREAMS.values(), ids=STREAMS.keys())
def test_the_stdlib_makes_the_smuggled_call(stream):
    pickle.loads(stream)
    assert calls, "the stream no longer shows the bypass"


@pytest.mark.parametrize("stream", STREAMS.values(), ids=STREAMS.keys())
def test_restricted_loading_never_makes_it(stream):
    with pytest.raises((oxpickle.UnpicklingError, AttributeError)):
        oxpickle.loads(stream, allow=ALLOW)
    assert calls == []


@pytest.mark.parametrize("stream", STREAMS.values(), ids=STREAMS.keys())
def test_unrestricted_loading_behaves_as_the_stdlib(stream):
    oxpickle.loads(stream)
    assert calls, "unrestricted loads look methods up as CPython does"


def test_a_type_that_defines_the_method_still_gets_it():
    """Restricted, methods come from the type: a listed class's own
    __setstate__ and a deque's extend/append still run."""
    from collections import deque

    data = pickle.dumps(deque([1, 2, 3], maxlen=5), 2)
    assert oxpickle.loads(data, allow="data") == deque([1, 2, 3], maxlen=5)
    from collections import Counter

    counter = Counter("abracadabra")
    assert oxpickle.loads(pickle.dumps(counter, 2), allow="data") == counter


# --- every call site applies the argument rules ------------------------------
#
# bytearray's rule counts the ints it is given as sizes. Each stream asks for
# one byte more than the limit below, through a different call site; the
# stdlib makes each call.

ASKED = 10_001
SMALL = oxpickle.Limits(max_allocation=ASKED - 1)
BYTEARRAY = b"cbuiltins\nbytearray\n"
SIZE = b"J" + ASKED.to_bytes(4, "little")

CALL_SITES = {
    "REDUCE": b"\x80\x02" + BYTEARRAY + SIZE + b"\x85R.",
    "NEWOBJ": b"\x80\x02cbuiltins\nbytes\n" + SIZE + b"\x85\x81.",
    "INST": b"(I" + str(ASKED).encode() + b"\nibuiltins\nbytearray\n.",
    "OBJ": b"(" + BYTEARRAY + b"I" + str(ASKED).encode() + b"\no.",
    # copyreg._reconstructor(cls, base, state) calls base.__new__(cls, state).
    "copyreg._reconstructor": b"\x80\x02ccopyreg\n_reconstructor\n"
    + BYTEARRAY
    + BYTEARRAY
    + SIZE
    + b"\x87R.",
}


@pytest.mark.parametrize("stream", CALL_SITES.values(), ids=CALL_SITES.keys())
def test_the_stdlib_allocates_through_each_call_site(stream):
    assert len(pickle.loads(stream)) == ASKED


@pytest.mark.parametrize("stream", CALL_SITES.values(), ids=CALL_SITES.keys())
def test_every_call_site_checks_the_sizes(stream):
    with pytest.raises(oxpickle.UnsafePickleError, match=f"asks for {ASKED} items or bytes"):
        oxpickle.loads(stream, allow="data", limits=SMALL)


def test_keyword_arguments_cannot_slip_past_a_rule():
    # NEWOBJ_EX: bytes.__new__(bytes, **{"source": n}) would allocate too.
    stream = b"\x80\x04cbuiltins\nbytes\n)}\x8c\x06sourceJ\x11'\x00\x00s\x92."
    with pytest.raises(oxpickle.UnsafePickleError, match="with keyword arguments"):
        oxpickle.loads(stream, allow="data")


def test_getattr_cannot_take_a_planted_callable_out_of_an_object():
    """getattr(obj, "x") on an allowed object made by a call, then REDUCE on
    what it returned: the stdlib calls `record`."""
    planted = ORDERED_DICT + b"}X\x01\x00\x00\x00x" + RECORD + b"sb"
    stream = b"\x80\x02cbuiltins\ngetattr\n" + planted + b"X\x01\x00\x00\x00x\x86R)R."
    pickle.loads(stream)
    assert calls
    calls.clear()
    with pytest.raises(oxpickle.UnsafePickleError, match="getattr on something other than"):
        oxpickle.loads(stream, allow=ALLOW)
    assert calls == []


# --- filling opcodes never change a global ------------------------------------

REGISTRY: list[object] = []
SETTINGS: dict[object, object] = {}


@pytest.fixture
def _clean_globals():
    yield
    REGISTRY.clear()
    SETTINGS.clear()


FILLS = {
    "APPENDS": b"\x80\x02c" + MODULE + b"\nREGISTRY\n(K\x01K\x02e.",
    "APPEND": b"\x80\x02c" + MODULE + b"\nREGISTRY\nK\x01a.",
    "SETITEMS": b"\x80\x02c" + MODULE + b"\nSETTINGS\n(K\x01K\x02u.",
    "SETITEM": b"\x80\x02c" + MODULE + b"\nSETTINGS\nK\x01K\x02s.",
}
FILL_ALLOW = ["data", f"{__name__}:REGISTRY", f"{__name__}:SETTINGS"]


@pytest.mark.usefixtures("_clean_globals")
@pytest.mark.parametrize("stream", FILLS.values(), ids=FILLS.keys())
def test_the_stdlib_fills_a_global(stream):
    pickle.loads(stream)
    assert REGISTRY or SETTINGS


@pytest.mark.usefixtures("_clean_globals")
@pytest.mark.parametrize("stream", FILLS.values(), ids=FILLS.keys())
def test_restricted_loading_never_fills_a_global(stream):
    with pytest.raises(oxpickle.UnsafePickleError, match="adding items to the global"):
        oxpickle.loads(stream, allow=FILL_ALLOW)
    assert REGISTRY == [] and SETTINGS == {}


def test_filling_what_an_allowed_call_made_still_works():
    from collections import OrderedDict, defaultdict

    ordered = OrderedDict(a=1, b=[1, 2])
    assert oxpickle.loads(pickle.dumps(ordered, 2), allow="data") == ordered
    counts = defaultdict(int, {"x": 3})
    assert oxpickle.loads(pickle.dumps(counts, 2), allow="data") == counts
