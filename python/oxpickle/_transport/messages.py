"""Pickles whose large buffers travel in shared memory: only the stream
crosses the pipe (PEP 574's out-of-band buffers, end to end).

``dumps`` pickles with protocol 5 and a buffer callback: a buffer under the
threshold stays in the stream; a larger one goes into a segment of its own
(one copy), or, when it already lies in a segment that travels by
reference (``oxpickle.shared``, ``references``), is named with no copy at
all. ``loads`` maps the segments the descriptors name and hands them to
the unpickler as its buffers.

The envelopes that carry these pickles through the standard library's
pipes and queues are in ``envelopes``.
"""

from __future__ import annotations

import copyreg
import io
import os
from multiprocessing import reduction
from pickle import PickleBuffer
from typing import Any

from .._oxpickle import Pickler, UnpicklingError
from .._oxpickle import loads as _loads
from . import references, segments

DEFAULT_THRESHOLD = 1 << 20
# Processes started after set_threshold inherit it through the environment.
THRESHOLD_VARIABLE = "OXPICKLE_SHM_THRESHOLD"


def _inherited_threshold() -> int:
    text = os.environ.get(THRESHOLD_VARIABLE, "")
    return int(text) if text.isdigit() else DEFAULT_THRESHOLD


_threshold = _inherited_threshold()


def reducers() -> dict[type, Any]:
    """The reducers the stdlib's multiprocessing pickler uses now: copyreg's,
    and those registered with ForkingPickler.register (connections, sockets,
    ...), which win. A dict made per message, as the stdlib's pickler makes
    its own: the engine looks a dict up without raising on a miss."""
    return {**copyreg.dispatch_table, **reduction.ForkingPickler._extra_reducers}


# (segment name, offset, length, shared, readonly). The name is the
# message's own: the receiver removes it (or, for shared memory, takes it as
# its own), and a message never received leaves it to be swept.
Descriptor = tuple[str, int, int, bool, bool]


def threshold() -> int:
    return _threshold


def set_threshold(nbytes: int) -> int:
    """Buffers of at least `nbytes` travel in shared memory; returns the
    previous threshold."""
    global _threshold
    if not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"the threshold is a number of bytes, not {nbytes!r}")
    previous, _threshold = _threshold, nbytes
    os.environ[THRESHOLD_VARIABLE] = str(nbytes)
    return previous


def dumps(obj: Any) -> tuple[bytes, list[Descriptor]]:
    """The stream of `obj` and where its large buffers went."""
    descriptors: list[Descriptor] = []

    def out_of_band(buffer: PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < _threshold:
            return True
        located = references.locate(buffer)
        if located is not None:
            # A second name for the same memory, which the message owns.
            name, offset, is_shared = located
            link = segments.link(name)
            if link is not None:
                descriptors.append((link, offset, raw.nbytes, is_shared, raw.readonly))
                return False
        name, mapping = segments.create(raw.nbytes)
        descriptors.append((name, 0, raw.nbytes, False, raw.readonly))
        with mapping:
            mapping[: raw.nbytes] = raw.cast("B")
        return False

    out = io.BytesIO()
    pickler = Pickler(out, 5, buffer_callback=out_of_band)
    pickler.dispatch_table = reducers()
    try:
        pickler.dump(obj)
        return out.getvalue(), descriptors
    except BaseException:
        remove_segments(descriptors)
        raise


def loads(stream: bytes, descriptors: list[Descriptor]) -> Any:
    """The object `dumps` made, its buffers mapped from their segments."""
    checked = _checked_all(_as_list(descriptors))
    buffers = []
    opened = 0
    try:
        for name, offset, length, is_shared, readonly in checked:
            mapping = segments.attach(name, offset + length, shared=is_shared)
            if is_shared:
                # Its writes are everyone's, so it may travel on by reference.
                references.adopt(mapping, name)
            else:
                segments.remove(name)
            opened += 1
            view = memoryview(mapping)[offset : offset + length]
            buffers.append(view.toreadonly() if readonly else view)
    finally:
        # A message that cannot be opened is dead: its other segments too.
        remove_segments(checked[opened:])
    return _loads(stream, buffers=buffers)


def segment_names(descriptors: list[Descriptor]) -> list[str]:
    return [descriptor[0] for descriptor in descriptors]


def remove_segments(descriptors: list[Descriptor]) -> None:
    """Removes the names a message owns: it will not be received."""
    for name in segment_names(descriptors):
        segments.remove(name)


def _as_list(descriptors: Any) -> list[Any]:
    if not isinstance(descriptors, list):
        raise UnpicklingError("the buffers of an oxpickle message must be a list of descriptors")
    return descriptors


def _checked_all(descriptors: list[Any]) -> list[Descriptor]:
    """Every descriptor checked; if one is refused, the message is dead and
    the names the others carry are removed."""
    checked, refused = [], None
    for descriptor in descriptors:
        try:
            checked.append(_checked(descriptor))
        except UnpicklingError as error:
            refused = refused or error
    if refused is not None:
        remove_segments(checked)
        raise refused
    return checked


def _checked(descriptor: Any) -> Descriptor:
    """A descriptor as `dumps` writes it; anything else is refused before a
    segment is touched."""
    kinds = (str, int, int, bool, bool)
    if not (
        isinstance(descriptor, tuple)
        and len(descriptor) == len(kinds)
        and all(type(part) is kind for part, kind in zip(descriptor, kinds, strict=True))
        and descriptor[1] >= 0
        and descriptor[2] >= 0
    ):
        raise UnpicklingError(f"bad shared-memory buffer descriptor {descriptor!r:.200}")
    segments.checked_name(descriptor[0])
    return descriptor
