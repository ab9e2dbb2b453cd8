"""Hostile, truncated and garbage input: oxpickle fails cleanly, like C pickle.

* Every prefix of valid pickles (all protocols) raises ``UnpicklingError`` or
  the exception type that the C unpickler (``_pickle``) raises for the same
  bytes.
* Random bytes and mutated streams raise some ``Exception`` or return a value,
  never crash and never hang. These loops run in a child interpreter so that
  a segfault or a hang is reported as a failure (with the offending input)
  instead of killing pytest.
* 100,000-deep nesting: pickling raises ``RecursionError``; loading does what
  the C unpickler does (it builds the structure, iteratively).
* A length prefix of 2**60 raises ``UnpicklingError`` at once, without
  allocating: checked with the child's peak RSS.

Set OXPICKLE_FUZZ_ROUNDS (default 1) to scale the fuzz loops for a soak run.
"""

import _pickle
import builtins
import collections
import datetime
import decimal
import fractions
import functools
import io
import json
import os
import pickle
import struct
import sys
import types
import uuid

import oxpickle
import pytest
from child import TESTS_DIR, run_child

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
FUZZ_ROUNDS = int(os.environ.get("OXPICKLE_FUZZ_ROUNDS", "1"))
FUZZ_ADDRESS_SPACE = 2 * 2**30


# --- the corpus: valid pickles of stdlib-only objects -------------------------


def _cyclic_list():
    lst = [1, 2]
    lst.append(lst)
    return lst


def _cyclic_dict():
    dct = {"k": None}
    dct["self"] = dct
    return dct


_SHARED = "shared string"

CORPUS = {
    "none": None,
    "bools": [True, False],
    "small_ints": [0, 1, -1, 255, 256, 65535, 65536, -65536],
    "int32_edges": [2**31 - 1, -(2**31), 2**31],
    "big_ints": [2**64, -(2**63) - 1, 2**1000, -(2**100)],
    "floats": [1.5, -0.0, float("inf"), float("nan"), 1e300],
    "complex": complex(1.5, -2),
    "texts": ["", "abc", "é€😀", "\ud800", "line\nbreak\\"],
    "long_text": "x" * 300,
    "bytes": [b"", b"abc", bytes(range(256))],
    "long_bytes": bytes(range(256)) * 2,
    "bytearray": bytearray(b"bytearray"),
    "empty_containers": [[], (), {}, set(), frozenset()],
    "tuples": [(1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
    "nested_list": [1, [2, [3, [4]]]],
    "dict": {"a": 1, "b": [1, 2], 3: (4, 5)},
    "set": {1, 2, 3},
    "frozenset": frozenset({"x", "y"}),
    "shared": [_SHARED, _SHARED, (_SHARED,)],
    "cyclic_list": _cyclic_list(),
    "cyclic_dict": _cyclic_dict(),
    "batched_list": list(range(1200)),
    "batched_dict": {i: -i for i in range(1100)},
    "range": range(2, 10, 3),
    "slice": slice(1, None, 2),
    "datetime": datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
    "timedelta": datetime.timedelta(days=3, seconds=4),
    "ordered_dict": collections.OrderedDict(a=1, b=2),
    "deque": collections.deque([1, 2, 3]),
    "namespace": types.SimpleNamespace(a=1, b="two"),
    "decimal": decimal.Decimal("-1.25"),
    "fraction": fractions.Fraction(1, 3),
    "uuid": uuid.UUID(int=0x1234567890ABCDEF),
    "partial": functools.partial(int, base=2),
    "exception": ValueError("bad", 42),
    "globals": [len, int, dict, collections.OrderedDict],
}

# Streams that the C pickler never writes but the unpickler must read: text
# opcodes of protocol 0, Python 2 forms, explicit FRAME / MEMOIZE and the
# protocol 4-5 opcodes used in unusual ways.
HAND_WRITTEN = {
    "py2_str": b"S'abc'\np0\n.",
    "py2_unicode": b"Vabc\\u20ac\np0\n.",
    "py2_set": b"c__builtin__\nset\np0\n((lp1\nI1\naI2\natp2\nRp3\n.",
    "py2_dict": b"(dp0\nS'a'\np1\nI1\nsS'b'\np2\n(lp3\nF1.5\naNaI01\naI00\nas.",
    "py2_long": b"(K\x01L2L\nU\x01xtq\x00.",
    "py2_binstring": b"T\x03\x00\x00\x00abcq\x00.",
    "inst": b"(S'x'\nibuiltins\nValueError\n.",
    "obj": b"(cbuiltins\nValueError\nS'x'\no.",
    "long4": b"\x80\x02\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01.",
    "binunicode8": b"\x80\x04\x8d\x03\x00\x00\x00\x00\x00\x00\x00abc.",
    "binbytes8": b"\x80\x04\x8e\x03\x00\x00\x00\x00\x00\x00\x00abc.",
    "bytearray8": b"\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc.",
    "frame_memoize": b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01h\x00e\x85\x94.",
    "stack_global": b"\x80\x04\x8c\x08builtins\x94\x8c\x03len\x94\x93\x94.",
    "newobj_ex": b"\x80\x04\x8c\x08builtins\x8c\x03int\x93)}\x92.",
    "frozenset_additems": b"\x80\x04\x8f(K\x01K\x02\x90(K\x03\x91\x86.",
    "dup_pop": b"K\x01K\x02200(K\x031\x85.",
    "get_put": b"(lp7\nI5\naI6\nag7\n\x86.",
}


def _corpus_pickles():
    """(name, bytes) for every corpus object in every protocol, plus the
    hand-written streams."""
    items = [
        (f"{name}-p{proto}", pickle.dumps(obj, proto))
        for name, obj in CORPUS.items()
        for proto in PROTOCOLS
    ]
    items.extend(HAND_WRITTEN.items())
    return items


# --- comparing with the C unpickler -------------------------------------------


def _c_loads_via_file(data):
    return _pickle.Unpickler(io.BytesIO(data)).load()


def _ox_loads_via_file(data):
    return oxpickle.Unpickler(io.BytesIO(data)).load()


LOAD_PAIRS = [
    ("loads", _pickle.loads, oxpickle.loads),
    ("Unpickler(BytesIO).load", _c_loads_via_file, _ox_loads_via_file),
]


def _outcome(load, data):
    try:
        return load(data), None
    except Exception as exc:
        return None, exc


def _mismatch_with_c(c_load, ox_load, data):
    """None if oxpickle handled ``data`` the way the C unpickler does, else a
    description. Where C raises X, oxpickle may raise UnpicklingError or X."""
    c_value, c_exc = _outcome(c_load, data)
    ox_value, ox_exc = _outcome(ox_load, data)
    if c_exc is None:
        if ox_exc is not None:
            return f"C pickle loaded {c_value!r}; oxpickle raised {ox_exc!r}"
        if repr(ox_value) != repr(c_value):
            return f"C pickle loaded {c_value!r}; oxpickle loaded {ox_value!r}"
        return None
    if ox_exc is None:
        return f"C pickle raised {c_exc!r}; oxpickle returned {ox_value!r}"
    if isinstance(ox_exc, (pickle.UnpicklingError, type(c_exc))):
        return None
    if _ran_out(c_exc) and _ran_out(ox_exc):
        # Both say the input ended early. C happens to report an empty
        # BINBYTES at the very end as "truncated" rather than EOFError;
        # oxpickle raises EOFError, as C does at every other opcode boundary.
        return None
    return f"C pickle raised {c_exc!r}; oxpickle raised {ox_exc!r}"


def _ran_out(exc):
    truncated = isinstance(exc, pickle.UnpicklingError) and "truncated" in str(exc)
    return truncated or isinstance(exc, EOFError)


def _prefix_lengths(size):
    """Every prefix of small pickles; for long ones the first and last few
    hundred bytes and a stride through the middle."""
    if size <= 2000:
        return range(size)
    return sorted({*range(300), *range(size - 300, size), *range(300, size - 300, 37)})


CORPUS_PICKLES = dict(_corpus_pickles())


@pytest.mark.parametrize("name", CORPUS_PICKLES)
def test_truncated_stream_raises_like_c_pickle(name):
    data = CORPUS_PICKLES[name]
    # The full stream loads; every proper prefix of it fails like C pickle.
    assert repr(oxpickle.loads(data)) == repr(pickle.loads(data))
    problems = []
    for size in _prefix_lengths(len(data)):
        prefix = data[:size]
        for api, c_load, ox_load in LOAD_PAIRS:
            c_value, c_exc = _outcome(c_load, prefix)
            assert c_exc is not None, f"C pickle loaded the prefix {prefix!r}"
            problem = _mismatch_with_c(c_load, ox_load, prefix)
            if problem:
                problems.append(f"{api}({prefix[-40:]!r} [{size} bytes]): {problem}")
    assert not problems, f"{len(problems)} prefixes:\n" + "\n".join(problems[:20])


MALFORMED = [
    b"",
    b"\xff",
    b"\x80\x06N.",
    b"\x80\xffN.",
    b"\x80\x05",
    b"N",
    b"(N.",
    b".",
    b"S'abc\n.",
    b"S'abc\"\n.",
    b"I12x\n.",
    b"I\n.",
    b"L12\n.",
    b"F1.5x\n.",
    b"Vabc",
    b"X\xff\xff\xff\xff.",
    b"X\x02\x00\x00\x00\xff\xfe.",
    b"\x80\x04\x8c\x02\xc3(.",
    b"cnosuchmodule_for_oxpickle\nx\n.",
    b"cbuiltins\nnosuch\n.",
    b"cbuiltins\n\n.",
    b"c\nlen\n.",
    b"\x80\x04\x8c\x08builtins\x8c\x00\x93.",
    b"\x80\x05\x94.",
    b"h\x05.",
    b"g5\n.",
    b"gx\n.",
    b"p\n.",
    b"\x80\x02\x82\x01\x00.",
    b"\x80\x02\x83\x01\x00\x00.",
    b"\x80\x02\x84\x01\x00\x00\x00.",
    b"]K\x01u.",
    b"}K\x01a.",
    b"K\x01K\x02s.",
    b"\x80\x05\x97.",
    b"\x80\x05\x98.",
    b"\x80\x05N\x98.",
    b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N",
    b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.",
    b"\x80\x02cbuiltins\nlen\n)\x81.",
    b"\x80\x02cbuiltins\nint\nK\x01\x81.",
    b"\x80\x04cbuiltins\nint\n)N\x92.",
    b"cbuiltins\nlen\nN\x85R.",
    b"cbuiltins\nint\n(S'zz'\ntR.",
    b"P1\n.",
    b"Q.",
    b"K\x01Q.",
    b"(t(d}b.",
    b"]N\x81.",
    b"\x80\x05\x8a\x00.",
    b"\x80\x05\x8a\x01.",
    b"\x80\x05\x8b\xff\xff\xff\xff.",
]


@pytest.mark.parametrize("data", MALFORMED, ids=repr)
def test_malformed_stream_fails_like_c_pickle(data):
    for api, c_load, ox_load in LOAD_PAIRS:
        problem = _mismatch_with_c(c_load, ox_load, data)
        assert problem is None, f"{api}: {problem}"


# --- child interpreter runs ---------------------------------------------------


def _run_fuzz_child(mode, tmp_path):
    """Run one of the fuzz loops of this module in a child interpreter; on a
    crash or hang, report the input it was on."""
    current = tmp_path / "current-input.bin"
    code = f"""
        import sys
        sys.path.insert(0, {TESTS_DIR!r})
        import test_bad_input
        test_bad_input.fuzz_main({mode!r}, {str(current)!r}, {FUZZ_ROUNDS})
    """
    try:
        return run_child(code)
    except (AssertionError, pytest.fail.Exception) as exc:
        if current.exists():
            exc.add_note(f"input being loaded at the time: {current.read_bytes()!r}")
        raise


# --- fuzz loops, run inside the child -----------------------------------------

# Beyond the corpus, a fuzzed stream must not import anything new: a flipped
# byte in a module name must not run some other module's import-time code.


class _NoNewImports:
    # Hypothesis imports parts of itself lazily while it runs.
    allowed = ("hypothesis", "_hypothesis", "sortedcontainers", "attr")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.allowed:
            return None
        raise ImportError(f"fuzzing: import of {name!r} blocked")


def _mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:  # replace a byte
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1 and data:  # flip a bit
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 2:  # insert a byte, often an opcode
            data[pos:pos] = bytes([rng.choice(b"().0123NIJKLMSTUVXabdeghijlopqrstu}]\x80\x81"
                                              b"\x85\x86\x87\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91"
                                              b"\x92\x93\x94\x95\x96\x97\x98")])
        elif op == 3 and data:  # delete a run
            del data[pos : pos + rng.randint(1, 4)]
        elif op == 4 and data:  # duplicate a slice
            end = min(len(data), pos + rng.randint(1, 16))
            data[pos:pos] = data[pos:end]
        elif op == 5:  # overwrite with a hostile length field
            field = rng.choice([b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80",
                                b"\xff" * 8, b"\x00" * 7 + b"\x10", b"\x00" * 7 + b"\x80"])
            data[pos : pos + len(field)] = field
        elif op == 6:  # cut, then append random garbage
            del data[pos:]
            data += bytes(rng.randrange(256) for _ in range(rng.randint(0, 8)))
    return bytes(data)


def _random_stream(rng):
    kind = rng.randrange(3)
    size = rng.randint(0, 48)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(size))
    # Opcode-dense garbage gets past the first byte far more often.
    body = bytes(rng.choice(b"().NK\x85\x86\x87]}ae(su\x8c\x94\x93\x81\x92hqgjp01I\nV")
                 for _ in range(size))
    if kind == 1:
        body = b"\x80" + bytes([rng.randrange(6)]) + body
    return body + b"."


def fuzz_main(mode, current_path, rounds):
    """Entry point of the child: load many bad streams with both loading
    APIs; print a JSON summary. A crash or hang kills the child, and the
    input being loaded is in ``current_path``."""
    import random
    import resource

    # A cap on address space turns "allocate whatever a length field says"
    # into MemoryError (fine) instead of the OOM killer (a crash). An engine
    # that aborts when an allocation fails still crashes here, as it should.
    resource.setrlimit(resource.RLIMIT_AS, (FUZZ_ADDRESS_SPACE, FUZZ_ADDRESS_SPACE))
    fd = os.open(current_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    counts = collections.Counter()
    non_exceptions = []

    def feed(data):
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        for load in (oxpickle.loads, _ox_loads_via_file):
            try:
                load(data)
            except Exception as exc:
                counts[type(exc).__name__] += 1
            except BaseException as exc:  # SystemExit, KeyboardInterrupt...
                non_exceptions.append((data.hex(), repr(exc)))
            else:
                counts["<returned>"] += 1

    from hypothesis import given, settings
    from hypothesis import strategies as st

    header = st.sampled_from([b"", b"\x80\x02", b"\x80\x04", b"\x80\x05"])

    @settings(max_examples=rounds * 3000, database=None, derandomize=True, deadline=None)
    @given(st.tuples(header, st.binary(max_size=64)).map(b"".join))
    def feed_random_bytes(data):
        feed(data)

    corpus = _corpus_pickles()
    for _, data in corpus:  # warm up: everything the corpus imports is imported
        oxpickle.loads(data)
        _ox_loads_via_file(data)
    sys.meta_path.insert(0, _NoNewImports())

    rng = random.Random(0x0C0FFEE)
    if mode == "mutations":
        for _ in range(rounds):
            for _, data in corpus:
                for _ in range(60):
                    feed(_mutate(rng, data))
    elif mode == "random":
        for _ in range(rounds * 20_000):
            feed(_random_stream(rng))
    elif mode == "hypothesis":
        feed_random_bytes()
    os.close(fd)
    print(json.dumps({"counts": counts, "non_exceptions": non_exceptions[:20]}))


@pytest.mark.parametrize("mode", ["mutations", "random", "hypothesis"])
def test_garbage_never_crashes_or_hangs_the_interpreter(mode, tmp_path):
    summary = _run_fuzz_child(mode, tmp_path)
    assert not summary["non_exceptions"], (
        "raised a BaseException that is not an Exception: " f"{summary['non_exceptions']}"
    )
    # The loop really ran, and mostly reached the unpickler's error paths.
    total = sum(summary["counts"].values())
    assert total > 1000, summary
    assert summary["counts"].get("<returned>", 0) < total, summary


# --- deep nesting -------------------------------------------------------------

DEPTH = 100_000


def test_pickling_100000_deep_nesting_raises_recursion_error():
    """A DeepRecursionError, which is both the RecursionError C pickle
    raises and a PicklingError (what cloudpickle raises)."""
    results = run_child(
        f"""
        import io, json, pickle, oxpickle

        class PersistentPickler(oxpickle.Pickler):
            def persistent_id(self, obj):
                return None

        class OverridingPickler(oxpickle.Pickler):
            def reducer_override(self, obj):
                return NotImplemented

        from child import nested

        apis = {{
            "dumps": lambda obj, proto: oxpickle.dumps(obj, proto),
            "Pickler": lambda obj, proto: oxpickle.Pickler(io.BytesIO(), proto).dump(obj),
            "persistent_id": lambda obj, proto: PersistentPickler(io.BytesIO(), proto).dump(obj),
            "reducer_override": (
                lambda obj, proto: OverridingPickler(io.BytesIO(), proto).dump(obj)
            ),
        }}
        results = {{}}
        for kind in ("list", "dict", "tuple"):
            obj = nested(kind, {DEPTH})
            for proto in range(6):
                for api, dump in apis.items():
                    try:
                        dump(obj, proto)
                    except BaseException as exc:
                        both = isinstance(exc, RecursionError) and isinstance(
                            exc, pickle.PicklingError
                        )
                        results[f"{{kind}} {{api}} p{{proto}}"] = (
                            "RecursionError" if both else type(exc).__name__
                        )
                    else:
                        results[f"{{kind}} {{api}} p{{proto}}"] = "returned"
        # The interpreter is still fine after all those RecursionErrors.
        assert oxpickle.loads(oxpickle.dumps([1, [2, (3,)]])) == [1, [2, (3,)]]
        print(json.dumps(results))
        """
    )
    wrong = {case: got for case, got in results.items() if got != "RecursionError"}
    assert not wrong, f"expected RecursionError: {wrong}"
    assert len(results) == 3 * 6 * 4


def test_nesting_deeper_than_the_thread_stack_pickles_on_new_segments():
    """With the recursion limit raised, nesting deeper than the thread's
    stack holds moves the walk to new stack segments instead of overflowing
    it: in a thread with a 1 MiB stack, 100,000 levels of each container
    (several segments' worth), dumped and by a Pickler, load back whole."""
    results = run_child(
        f"""
        import io, json, pickle, sys, threading, oxpickle

        sys.setrecursionlimit({DEPTH} * 4)
        threading.stack_size(1 << 20)

        from child import nested

        def depth(obj):
            levels = 0
            while obj is not None:
                obj = obj["k"] if isinstance(obj, dict) else obj[0]
                levels += 1
            return levels

        results = {{}}
        def work():
            for kind in ("list", "dict", "tuple"):
                obj = nested(kind, {DEPTH})
                file = io.BytesIO()
                oxpickle.Pickler(file, 5).dump(obj)
                for api, data in (("dumps", oxpickle.dumps(obj)), ("Pickler", file.getvalue())):
                    results[f"{{kind}} {{api}}"] = depth(pickle.loads(data))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        print(json.dumps(results))
        """
    )
    assert results == {f"{kind} {api}": DEPTH for kind in ("list", "dict", "tuple")
                       for api in ("dumps", "Pickler")}


def test_python_code_runs_on_the_walks_stack_segments():
    """A reducer written in Python, called at every level of a walk deep
    enough to move to stack segments of its own, runs there as on the
    thread's stack. CPython 3.14 and later check recursion against the real
    stack pointer and are told each segment's bounds (else: a false
    RecursionError, or a fatal stack overflow); before 3.14 they count
    calls instead. Afterwards CPython guards the thread's own stack again:
    C recursion far past it (repr of a deeply nested list) ends in
    RecursionError, not a crash."""
    results = run_child(
        f"""
        import json, pickle, sys, oxpickle
        from child import nested

        class Node:
            def __init__(self, child):
                self.child = child

            def __reduce__(self):
                # Python frames and calls into C and back, deep in the walk.
                name = "".join(part for part in ("No", "de"))
                return (getattr(sys.modules[__name__], name), (self.child,))

        def depth(obj):
            levels = 0
            while obj is not None:
                obj = obj.child
                levels += 1
            return levels

        old = sys.getrecursionlimit()
        sys.setrecursionlimit({DEPTH} * 4)
        obj = None
        for _ in range(50_000):
            obj = Node(obj)
        results = {{"levels": depth(pickle.loads(oxpickle.dumps(obj)))}}
        sys.setrecursionlimit(old)
        try:
            repr(nested("list", 1_000_000))
        except RecursionError:
            results["after"] = "RecursionError"
        print(json.dumps(results))
        """
    )
    assert results == {"levels": 50_000, "after": "RecursionError"}


def test_the_nesting_limit_is_the_recursion_limit_on_every_version():
    """The walk counts its depth against ``sys.getrecursionlimit()`` on every
    version. (C pickle's limit is that on 3.11 only; from 3.12 it is a C
    limit the program cannot raise, or the stack's size.)"""
    results = run_child(
        """
        import json, sys, oxpickle
        from child import nested

        sys.setrecursionlimit(3000)
        results = {}
        for levels in (2900, 3100):
            try:
                oxpickle.dumps(nested("list", levels))
            except oxpickle.DeepRecursionError as exc:
                results[levels] = str(exc).splitlines()[0]
            else:
                results[levels] = "returned"
        print(json.dumps(results))
        """
    )
    assert results["2900"] == "returned"
    assert results["3100"].startswith("deep recursion while pickling"), results


def test_dumps_after_a_large_one_needs_no_more_memory_than_its_own():
    """The size of the thread's last result is a guess: where the process
    has no room for it, a small dumps still succeeds (as often as asked)."""
    results = run_child(
        """
        import json, resource, oxpickle
        oxpickle.dumps(b"x" * (30 << 20))
        def vm_size():
            for line in open("/proc/self/status"):
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        limit = vm_size() + (8 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps([len(oxpickle.dumps([b"y" * 10_000], 5)) for _ in range(2)]))
        """
    )
    assert results == [10020, 10020]


def _frames(payload):
    return b"".join(
        b"\x95" + struct.pack("<Q", len(payload[i : i + 65536])) + payload[i : i + 65536]
        for i in range(0, len(payload), 65536)
    )


def _binput(i):
    return b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i)


DEEP_STREAMS = {
    # Lists as the C pickler would write them, memoized, protocol 2.
    "list_memoized_p2": b"\x80\x02"
    + b"".join(b"]" + _binput(i) for i in range(DEPTH))
    + b"a" * (DEPTH - 1)
    + b".",
    # The same in protocol 5, cut into 64 KiB frames.
    "list_framed_p5": b"\x80\x05" + _frames(b"]\x94" * DEPTH + b"a" * (DEPTH - 1) + b"."),
    "list_from_marks": b"(" * DEPTH + b"l" * DEPTH + b".",
    "tuple_from_marks": b"(" * DEPTH + b"t" * DEPTH + b".",
    "tuple1": b"\x80\x02N" + b"\x85" * DEPTH + b".",
    "dict": b"\x80\x02" + b"}K\x00" * DEPTH + b"N" + b"s" * DEPTH + b".",
    "frozenset": b"\x80\x04" + b"(" * DEPTH + b"\x91" * DEPTH + b".",
    "marks_only": b"(" * DEPTH + b".",
    "lists_left_on_stack": b"\x80\x05" + b"]" * DEPTH + b".",
}


@pytest.mark.parametrize("name", DEEP_STREAMS)
def test_loading_100000_deep_nesting_behaves_like_c_pickle(name, tmp_path):
    """With the depth limit raised, oxpickle builds (or refuses) what C
    pickle does; under the default Limits, streams that open more MARKs
    than max_depth are refused as such."""
    data = DEEP_STREAMS[name]
    path = tmp_path / "deep.pickle"
    path.write_bytes(data)
    results = run_child(
        f"""
        import _pickle, io, json, oxpickle

        def depth(obj):
            levels = 0
            while isinstance(obj, (list, tuple, dict, frozenset)) and obj:
                obj = next(iter(obj.values() if isinstance(obj, dict) else obj))
                levels += 1
            return [levels, type(obj).__name__]

        def outcome(load):
            try:
                return ["returned", depth(load())]
            except Exception as exc:
                return ["raised", type(exc).__name__, str(exc)[:200]]

        data = open({str(path)!r}, "rb").read()
        deep = oxpickle.Limits(max_depth={DEPTH + 1})
        print(json.dumps({{
            "c": outcome(lambda: _pickle.loads(data)),
            "loads": outcome(lambda: oxpickle.loads(data, limits=deep)),
            "Unpickler": outcome(
                lambda: oxpickle.Unpickler(io.BytesIO(data), limits=deep).load()),
            "default limits": outcome(lambda: oxpickle.loads(data)),
        }}))
        """
    )
    expected = results.pop("c")
    default = results.pop("default limits")
    if data.count(b"(") > oxpickle.Limits().max_depth:
        assert default[:2] == ["raised", "UnsafePickleError"], default
        assert "max_depth" in default[2]
    else:
        results["default limits"] = default
    for api, got in results.items():
        if expected[0] == "returned":
            assert got == expected, f"{api}: C pickle built {expected}, oxpickle {got}"
        else:
            assert got[0] == "raised", f"{api}: C pickle raised {expected}, oxpickle {got}"
            c_type = getattr(builtins, expected[1], None) or getattr(pickle, expected[1])
            ox_type = getattr(builtins, got[1], None) or getattr(oxpickle, got[1], None)
            assert ox_type is not None and issubclass(
                ox_type, (pickle.UnpicklingError, c_type)
            ), f"{api}: C pickle raised {expected}, oxpickle {got}"


# --- huge length prefixes -----------------------------------------------------


def _length_cases():
    q = struct.Struct("<Q").pack
    i4 = struct.Struct("<I").pack
    cases = {}
    for name, op, proto in [
        ("BINBYTES8", b"\x8e", 5),
        ("BINUNICODE8", b"\x8d", 5),
        ("BYTEARRAY8", b"\x96", 5),
    ]:
        # 2**60: the contract is UnpicklingError at once (C pickle tries to
        # allocate first and gets MemoryError). 2**33: allocatable, C pickle
        # says truncated. Past 2**63 C pickle raises OverflowError.
        cases[f"{name} 2**60"] = (bytes([0x80, proto]) + op + q(2**60) + b"abc", True)
        cases[f"{name} 2**33"] = (bytes([0x80, proto]) + op + q(2**33) + b"abc", True)
        cases[f"{name} 2**64-1"] = (bytes([0x80, proto]) + op + q(2**64 - 1) + b"abc", False)
    cases["FRAME 2**60"] = (b"\x80\x04\x95" + q(2**60) + b"N.", True)
    cases["BINBYTES 2**32-1"] = (b"\x80\x03B" + i4(2**32 - 1) + b"abc", True)
    cases["BINUNICODE 2**32-1"] = (b"\x80\x03X" + i4(2**32 - 1) + b"abc", True)
    cases["BINSTRING 2**31-1"] = (b"T" + i4(2**31 - 1) + b"abc", True)
    cases["LONG4 2**31-1"] = (b"\x80\x02\x8b" + i4(2**31 - 1) + b"abc", True)
    return cases


LENGTH_CASES = _length_cases()
RSS_GROWTH_LIMIT_KIB = 64 * 1024


@pytest.mark.parametrize("name", LENGTH_CASES)
def test_huge_length_prefix_raises_without_allocating(name, tmp_path):
    data, strict = LENGTH_CASES[name]
    path = tmp_path / "huge.pickle"
    path.write_bytes(data)
    results = run_child(
        f"""
        import _pickle, io, json, resource, oxpickle

        def peak_kib():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        def outcome(load):
            try:
                load()
            except Exception as exc:
                return type(exc).__name__, isinstance(exc, _pickle.UnpicklingError)
            return "returned", False

        path = {str(path)!r}
        data = open(path, "rb").read()
        oxpickle.loads(oxpickle.dumps([b"warm", "up", bytearray(b"!")]))
        before = peak_kib()
        results = {{}}
        results["loads"] = outcome(lambda: oxpickle.loads(data))
        results["Unpickler(BytesIO)"] = outcome(
            lambda: oxpickle.Unpickler(io.BytesIO(data)).load())
        with open(path, "rb") as f:
            results["Unpickler(file)"] = outcome(lambda: oxpickle.Unpickler(f).load())
        with open(path, "rb", buffering=0) as f:
            results["Unpickler(raw file)"] = outcome(lambda: oxpickle.Unpickler(f).load())
        with open(path, "rb") as f:
            results["load(file)"] = outcome(lambda: oxpickle.load(f))
        growth = peak_kib() - before
        c = {{}}
        c["loads"] = outcome(lambda: _pickle.loads(data))
        with open(path, "rb") as f:
            c["file"] = outcome(lambda: _pickle.Unpickler(f).load())
        print(json.dumps({{"ox": results, "growth_kib": growth, "c": c}}))
        """
    )
    assert results["growth_kib"] < RSS_GROWTH_LIMIT_KIB, (
        f"peak RSS grew by {results['growth_kib']} KiB while failing"
    )
    c_types = {exc_type for exc_type, _ in results["c"].values()}
    for api, (exc_type, is_unpickling_error) in results["ox"].items():
        assert exc_type != "returned", f"{api} loaded a stream that promises {name} bytes"
        if strict:
            assert is_unpickling_error, f"{api} raised {exc_type}, not UnpicklingError"
        else:
            assert is_unpickling_error or exc_type in c_types, (
                f"{api} raised {exc_type}; C pickle raises {sorted(c_types)}"
            )
