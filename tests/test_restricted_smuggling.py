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
