"""``install()``: the stdlib's own multiprocessing (and so
concurrent.futures, which sends through it) pickles with oxpickle.

multiprocessing binds its pickler class by name in several modules at
import; ``install`` rebinds each of them to a subclass whose ``dumps`` and
``dump`` send an `Envelope`:

- ``multiprocessing.reduction.ForkingPickler`` (and ``reduction.dump``,
  which reads it), ``AbstractReducer.ForkingPickler``;
- ``multiprocessing.connection._ForkingPickler`` (pipes, managers);
- ``multiprocessing.queues._ForkingPickler`` (queues);
- ``multiprocessing.sharedctypes._ForkingPickler``.

The subclass shares the stdlib class's registry, so ``register`` works
before and after. Loading stays the stdlib's ``pickle.loads``, which opens
envelopes and plain pickles alike. A process started after ``install``
installs it too, when it opens the first envelope its parent sent (forked
ones inherit it). ``uninstall`` puts every name back.
"""

from __future__ import annotations

import threading
from multiprocessing import connection, process, queues, reduction, sharedctypes
from typing import Any

from .._transport import segments
from .._transport.envelopes import Envelope, Settings, open_envelope

_STDLIB = reduction.ForkingPickler
# (module or class, attribute) for every place the stdlib binds it.
_BINDINGS = (
    (reduction, "ForkingPickler"),
    (reduction.AbstractReducer, "ForkingPickler"),
    (connection, "_ForkingPickler"),
    (queues, "_ForkingPickler"),
    (sharedctypes, "_ForkingPickler"),
)
_lock = threading.Lock()
_uninstalled = False


class _InstallingEnvelope(Envelope):
    """An envelope whose opening installs oxpickle in the receiver first."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _open_and_install, (self.stream, self.descriptors)


class _ProcessStart:
    """A process object as spawn and forkserver send it: the transport's
    settings first, then the process in an installing envelope."""

    __slots__ = ("started",)

    def __init__(self, started: process.BaseProcess) -> None:
        self.started = started

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _started, (Settings(), _InstallingEnvelope(self.started))


def _started(_settings: None, started: process.BaseProcess) -> process.BaseProcess:
    return started


def _open_and_install(stream: bytes, descriptors: list[Any]) -> Any:
    # A process that called uninstall() keeps it so, whatever it receives.
    if not _uninstalled:
        install()
    return open_envelope(stream, descriptors)


class ForkingPickler(_STDLIB):
    """The stdlib's ForkingPickler, sending what it is given in envelopes."""

    @classmethod
    def dumps(cls, obj: Any, protocol: int | None = None) -> memoryview:
        return super().dumps(_InstallingEnvelope(obj), protocol)

    def dump(self, obj: Any) -> None:
        # A process object, as spawn and forkserver send it. The
        # preparation data before it stays a plain pickle: the child reads
        # it before it can import what the parent's sys.path reaches.
        super().dump(_ProcessStart(obj) if isinstance(obj, process.BaseProcess) else obj)


def install() -> None:
    """Switches the stdlib's multiprocessing and concurrent.futures to
    oxpickle in this process and the processes it starts."""
    global _uninstalled
    # Children take the family token at start, before any message of theirs
    # names a segment.
    segments.family()
    with _lock:
        _uninstalled = False
        for owner, name in _BINDINGS:
            setattr(owner, name, ForkingPickler)


def uninstall() -> None:
    """Puts back the stdlib's pickler everywhere ``install`` changed it."""
    global _uninstalled
    with _lock:
        _uninstalled = True
        for owner, name in _BINDINGS:
            setattr(owner, name, _STDLIB)
