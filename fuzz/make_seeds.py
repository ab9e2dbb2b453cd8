"""Writes the committed seed corpus of the fuzz targets: ``python fuzz/make_seeds.py``.

Stdlib pickles of varied values at every protocol, a few of them written one
after another, and hand-made hostile streams. Every target gets the same
seeds (``fuzz/corpus/<target>/seed-*``); what the fuzzer adds next to them
is not committed.
"""

import collections
import datetime
import decimal
import hashlib
import io
import pickle
import struct
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
TARGETS = ("decode", "value", "dis")


class Reduced:
    def __reduce__(self):
        return (collections.OrderedDict, ([("k", 1)],))


def values():
    shared = [1, 2]
    recursive = []
    recursive.append(recursive)
    return [
        None,
        True,
        [0, 255, 65535, -1, 2**31, 2**64, -(2**100)],
        [0.0, -1.5, float("inf")],
        "ascii",
        "é漢🐍\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass"),
        b"bytes",
        bytearray(b"array"),
        (1, (2, (3,))),
        {"a": {"b": [shared, shared]}},
        {1, 2},
        frozenset({3}),
        recursive,
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        decimal.Decimal("1.5"),
        collections.deque([1]),
        Reduced(),
        list(range(300)),
    ]


def stdlib_pickles():
    for index, value in enumerate(values()):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            yield f"v{index}-p{protocol}", pickle.dumps(value, protocol=protocol)
    # Over 64 KiB: framed from protocol 4, and an 8-byte length.
    for protocol in (4, 5):
        yield f"framed-p{protocol}", pickle.dumps([b"x" * 70_000, "y" * 70_000], protocol=protocol)
    buffers = []
    data = pickle.dumps(pickle.PickleBuffer(b"oob"), protocol=5, buffer_callback=buffers.append)
    yield "out-of-band", data
    stream = io.BytesIO()
    for value in ([1], {"two": 2}, "three"):
        pickle.dump(value, stream, protocol=2)
    yield "three-in-a-row", stream.getvalue()


def hostile():
    q = struct.Struct("<Q").pack
    yield "huge-binbytes8", b"\x80\x04\x8e" + q(2**60) + b"abc"
    yield "huge-frame", b"\x80\x04\x95" + q(2**62) + b"N."
    yield "deep-marks", b"(" * 5000 + b"."
    yield "far-memo", b"\x80\x02Nr\xff\xff\xff\xffj\xff\xff\xff\xff."
    yield "global-os-system", b"cos\nsystem\n(S'id'\ntR."
    yield "stack-global-computed", b"\x80\x04\x8c\x02os\x8c\x06systemh\x00\x93."
    yield "ext4", b"\x80\x02\x84\xff\xff\xff\x7f."
    yield "build-cycle", b"\x80\x02]q\x00h\x00h\x00\x86b."


def main():
    seeds = dict(stdlib_pickles())
    seeds.update(hostile())
    for target in TARGETS:
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("seed-*"):
            stale.unlink()
        for name, data in seeds.items():
            digest = hashlib.sha1(data).hexdigest()[:8]
            (folder / f"seed-{name}-{digest}").write_bytes(data)
    print(f"{len(seeds)} seeds per target, {sum(map(len, seeds.values())):,} bytes each set")


if __name__ == "__main__":
    main()
