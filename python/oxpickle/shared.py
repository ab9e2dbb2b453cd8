"""Arrays that live in shared memory, so they cross to another process by
reference, with no copy: ``oxpickle.shared.empty(shape, dtype)`` and
``oxpickle.shared.copy(array)``.

Sent through ``oxpickle.multiprocessing`` or ``oxpickle.futures``, such an
array travels as the name of its segment and where in it the data lies. A
receiver maps the segment privately: it reads the same pages, and its
writes stay its own (copy on write). ``share=True`` makes the mapping
shared instead, both ways: every process that holds the array sees every
write, as with ``multiprocessing.shared_memory``.

Each message carries a name of its own for the memory (a hard link),
which the receiver removes, so the array may be dropped as soon as it is
sent. The segment's own name belongs to the process that made the array and
is removed when that array (and every view of it) is garbage collected, or
when the process family's first process exits; the memory itself lives
while any process maps it.
"""

from __future__ import annotations

import ctypes
import mmap
import threading
import weakref
from typing import Any

from . import _segments

# id(mapping) → (weak reference to it, segment name, start address, shared):
# the mappings whose memory travels by reference.
_by_reference: dict[int, tuple[weakref.ref, str, int, bool]] = {}
_lock = threading.Lock()


def empty(shape: Any, dtype: Any = float, *, share: bool = False) -> Any:
    """A NumPy array of `shape` and `dtype` in a new shared-memory segment,
    its contents undefined (as ``numpy.empty``)."""
    import numpy as np

    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    name, mapping = _segments.create(size)
    _by_reference_under(mapping, name, shared=share)
    return np.ndarray(shape, dtype=dtype, buffer=mapping)


def copy(array: Any, *, share: bool = False) -> Any:
    """A copy of `array` in a new shared-memory segment."""
    import numpy as np

    source = np.asarray(array)
    target = empty(source.shape, source.dtype, share=share)
    target[...] = source
    return target


def adopt(mapping: mmap.mmap, name: str) -> None:
    """A received shared mapping travels on by reference, under a name of
    this process's that is removed with it."""
    _by_reference_under(mapping, _segments.adopt(name), shared=True)


def _by_reference_under(mapping: mmap.mmap, name: str, *, shared: bool) -> None:
    """Records that memory of `mapping` travels by reference, as links to
    segment `name`, which this process owns and removes with the mapping."""
    weakref.finalize(mapping, _segments.remove, name)
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
