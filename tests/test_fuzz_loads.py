"""Hypothesis fuzz of ``loads``: mutated and spliced pickles of data values,
loaded restricted (``allow="data"``) and trusted.

The properties: a load returns or raises an ``Exception``; it never imports
a module that was not already imported; a restricted load never calls a
global outside the allowlist (a sentinel records every call). Trusted loads
go through an Unpickler whose ``find_class`` resolves only the seeds' own
modules, so a mutation cannot reach real code, while every opcode still
runs the unrestricted machine.
"""

import collections
import datetime
import decimal
import fractions
import io
import pickle
import sys
import uuid

import oxpickle
import pytest
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


SEED_MODULES = {"builtins", "collections", "datetime", "decimal", "fractions", "uuid", "copyreg"}


class SeedModulesOnly(oxpickle.Unpickler):
    def find_class(self, module, name):
        if module not in SEED_MODULES and module not in ("__builtin__", "copy_reg"):
            raise pickle.UnpicklingError(f"fuzz: {module}.{name} is not a seed module")
        return super().find_class(module, name)


LOADS = {
    "restricted": lambda data: oxpickle.loads(data, allow="data"),
    "trusted": lambda data: SeedModulesOnly(io.BytesIO(data)).load(),
}


@pytest.mark.parametrize("mode", LOADS)
@MANY
@given(data=mutated_pickles())
def test_mutated_pickles_load_or_raise_and_import_nothing_new(mode, data):
    before = set(sys.modules)
    try:
        LOADS[mode](data)
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
