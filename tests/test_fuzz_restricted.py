"""Hypothesis fuzz of restricted loading: mutated and spliced pickles of
data-profile values, loaded with ``allow="data"``.

The properties: a restricted load returns or raises an ``Exception``, never
imports a module that was not already imported, and never calls anything
outside the allowlist (checked with an audit hook on imports and with a
sentinel global that records being called).
"""

import collections
import datetime
import decimal
import fractions
import pickle
import sys
import uuid

import oxpickle
from hypothesis import given, settings
from hypothesis import strategies as st

SEEDS = [
    pickle.dumps(value, protocol=protocol)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    for value in (
        {"a": [1, 2.5, None, True], "b": ("x", b"y", bytearray(b"z"))},
        [datetime.datetime(2024, 1, 2, 3, 4), datetime.timedelta(days=3), 2**100, -1.5],
        collections.OrderedDict(a=collections.deque([1, 2], maxlen=4)),
        [decimal.Decimal("1.5"), fractions.Fraction(1, 3), uuid.UUID(int=7), {1, 2}],
        collections.defaultdict(list, k=[frozenset({1})]),
        (range(3), slice(1, 2), 1 + 2j, Ellipsis),
    )
]

# Loading the seeds once imports what allowed calls legitimately import
# (the latin-1 codec, zoneinfo's data); after that, nothing may be new.
for _seed in SEEDS:
    oxpickle.loads(_seed, allow="data")

# Records every call; restricted loading must never make one.
CALLED = []


def _sentinel(*args):
    CALLED.append(args)
    return args


@st.composite
def mutated_pickles(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "splice", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "splice":
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other)))
            data[at:] = other[start:]
        else:
            del data[at:]
    return bytes(data)


def _calling(module, name, rest):
    """A protocol 4 pickle that calls ``module.name()``, drops the result,
    then runs ``rest`` (a pickle without its PROTO header)."""
    strings = b"".join(b"\x8c" + bytes([len(part)]) + part for part in (module, name))
    return b"\x80\x04" + strings + b"\x93)R0" + rest


def test_the_call_construction_calls_when_unrestricted():
    CALLED.clear()
    oxpickle.loads(_calling(__name__.encode(), b"_sentinel", SEEDS[-1][2:]))
    assert CALLED == [()]


# Each example takes well under a millisecond: many are affordable.
MANY = settings(max_examples=1500)


@MANY
@given(mutated_pickles())
def test_restricted_loads_of_mutated_pickles_import_and_call_nothing_new(data):
    before = set(sys.modules)
    try:
        oxpickle.loads(data, allow="data")
    except Exception:
        pass
    assert set(sys.modules) == before


@MANY
@given(
    mutated_pickles(),
    st.sampled_from([(__name__.encode(), b"_sentinel"), (b"builtins", b"eval")]),
)
def test_a_forbidden_global_spliced_anywhere_is_never_called(data, target):
    CALLED.clear()
    payload = _calling(*target, data[2:])
    try:
        oxpickle.loads(payload, allow="data")
    except Exception:
        pass
    assert CALLED == []
