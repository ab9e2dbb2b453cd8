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

from typing import Any

from ._transport import messages, references, segments


def empty(shape: Any, dtype: Any = float, *, share: bool = False) -> Any:
    """A NumPy array of `shape` and `dtype` in a new shared-memory segment,
    its contents undefined (as ``numpy.empty``)."""
    import numpy as np

    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    name, mapping = segments.create(size)
    references.travel_by_reference(mapping, name, shared=share)
    return np.ndarray(shape, dtype=dtype, buffer=mapping)


def copy(array: Any, *, share: bool = False) -> Any:
    """A copy of `array` in a new shared-memory segment."""
    import numpy as np

    source = np.asarray(array)
    target = empty(source.shape, source.dtype, share=share)
    target[...] = source
    return target


def set_threshold(nbytes: int) -> int:
    """Buffers of at least `nbytes` travel in shared memory (default 1 MiB),
    smaller ones in the pickle stream; returns the previous threshold.
    Processes started afterwards inherit it."""
    return messages.set_threshold(nbytes)
