"""Which memory travels by reference: mappings of segments this process
owns, found again from a buffer that lies in one (``locate``).

A mapping is recorded with the name of a segment this process owns, from
which each message makes a name of its own (a hard link); the name is
removed when the mapping is garbage collected.
"""

from __future__ import annotations

import ctypes
import mmap
import threading
import weakref
from typing import Any

from . import segments

# id(mapping) → (weak reference to it, segment name, start address, shared):
# the mappings whose memory travels by reference.
_by_reference: dict[int, tuple[weakref.ref, str, int, bool]] = {}
_lock = threading.Lock()


def adopt(mapping: mmap.mmap, name: str) -> None:
    """A received shared mapping travels on by reference, under a name of
    this process's that is removed with it."""
    travel_by_reference(mapping, segments.adopt(name), shared=True)


def travel_by_reference(mapping: mmap.mmap, name: str, *, shared: bool) -> None:
    """Records that memory of `mapping` travels by reference, as links to
    segment `name`, which this process owns and removes with the mapping."""
    weakref.finalize(mapping, segments.remove, name)
    start = ctypes.addressof(ctypes.c_char.from_buffer(mapping))
    key = id(mapping)
    with _lock:
        _by_reference[key] = (weakref.ref(mapping, lambda _: _forget(key)), name, start, shared)


def _forget(key: int) -> None:
    with _lock:
        _by_reference.pop(key, None)


def locate(buffer: Any) -> tuple[str, int, bool] | None:
    """Where a PickleBuffer's memory lies, when it is an array over a
    mapping that travels by reference: (segment name, offset, shared)."""
    raw = buffer.raw()
    exporter = raw.obj
    interface = getattr(exporter, "__array_interface__", None)
    if not isinstance(interface, dict):
        return None
    address = interface["data"][0]
    base = exporter
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    if base is None:
        return None
    with _lock:
        entry = _by_reference.get(id(base))
    if entry is None or entry[0]() is not base:
        return None
    _, name, start, shared = entry
    offset = address - start
    if offset < 0 or offset + raw.nbytes > len(base):
        return None
    return name, offset, shared
