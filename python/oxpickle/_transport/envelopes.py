"""Envelopes: objects pickled by oxpickle inside what the standard library
pickles (multiprocessing's queues, pipes, pools and process start-up).

The stdlib's pickler sees only an envelope, whose ``__reduce__`` hands it
the oxpickle stream and its shared-memory descriptors; the stdlib's
unpickler on the other side calls the function that opens it. Neither
end's multiprocessing needs changing.

An envelope pickles its object when it is made, in the sender's own call,
so an object that cannot be pickled fails there (not later, in a queue's
feeder thread). The queues, pipes and pools that then fail to send one
call ``discard``, so its segments do not outlive it. Three kinds differ in when the receiver
opens them:

* ``Envelope``: as it is unpickled (a queue's ``get``, a pipe's ``recv``);
* ``Sealed``: only when the receiver calls ``open``, so a task a worker
  cannot load fails that task, not the worker's loop;
* ``Reply``: as it is unpickled, but a stream that cannot be loaded
  becomes the message its ``fallback`` makes of the error, so the error
  reaches the caller waiting for it instead of the thread reading replies.
"""

from __future__ import annotations

import multiprocessing.queues
import os
from collections.abc import Callable
from typing import Any

from .._oxpickle import UnpicklingError
from . import messages, segments
from .messages import Descriptor


class Envelope:
    """`obj`, pickled by oxpickle, opened by the receiver's unpickler."""

    __slots__ = ("stream", "descriptors")

    def __init__(self, obj: Any) -> None:
        self.stream, self.descriptors = messages.dumps(obj)

    @property
    def segments(self) -> list[str]:
        """The segment names this message owns, which its receiver removes."""
        return messages.segment_names(self.descriptors)

    def discard(self) -> None:
        """Removes the message's segments: it was not sent."""
        messages.remove_segments(self.descriptors)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return open_envelope, (self.stream, self.descriptors)


def open_envelope(stream: bytes, descriptors: list[Descriptor]) -> Any:
    """What an envelope held; called by the receiver's unpickler."""
    if not isinstance(stream, (bytes, bytearray)):
        raise UnpicklingError("an oxpickle message's stream must be bytes")
    return messages.loads(stream, descriptors)


def not_loaded(error: Exception) -> UnpicklingError:
    """The error a receiver reports for a message it could not load."""
    failure = UnpicklingError(f"process {os.getpid()} could not load what it was sent: {error}")
    failure.__cause__ = error
    return failure


class Sealed(Envelope):
    """An envelope its receiver opens only when it calls ``open``."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _received_sealed, (self.stream, self.descriptors)

    def open(self) -> Any:
        try:
            return open_envelope(self.stream, self.descriptors)
        except Exception as error:
            raise not_loaded(error)  # noqa: B904 (its cause is `error`)


def _received_sealed(stream: bytes, descriptors: list[Descriptor]) -> Sealed:
    sealed = Sealed.__new__(Sealed)
    sealed.stream, sealed.descriptors = stream, descriptors
    return sealed


def call_sealed(call: Sealed) -> Any:
    """Runs a sealed ``(function, args, kwargs)``: in a worker, as its task."""
    function, args, kwargs = call.open()
    return function(*args, **kwargs)


class Reply(Envelope):
    """An envelope that becomes ``fallback(error, *args)`` where its stream
    cannot be loaded: `fallback` is a function of an importable module,
    and `args` what it needs to route the error (a job or work id)."""

    __slots__ = ("fallback", "args")

    def __init__(self, obj: Any, fallback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__(obj)
        self.fallback, self.args = fallback, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return open_reply, (self.stream, self.descriptors, self.fallback, self.args)


def open_reply(
    stream: bytes,
    descriptors: list[Descriptor],
    fallback: Callable[..., Any],
    args: tuple[Any, ...],
) -> Any:
    try:
        return open_envelope(stream, descriptors)
    except Exception as error:
        return fallback(not_loaded(error), *args)


class ReplyQueue(multiprocessing.queues.SimpleQueue):
    """A queue workers put results in, each as a reply: `routing(obj)`
    gives the fallback and its arguments for a result, None for a message
    that is not one (a sentinel, a worker's pid)."""

    def routing(self, obj: Any) -> tuple[Callable[..., Any], tuple[Any, ...]] | None:
        raise NotImplementedError

    def put(self, obj: Any) -> None:
        routing = self.routing(obj)
        if routing is None:
            super().put(obj)
            return
        send(Reply(obj, *routing), super().put)


class Settings:
    """The transport's settings, taken by a process as it is unpickled,
    before the envelopes after it in the same pickle open: a process start
    sends one first, since a forkserver child's environment is the
    server's, which may predate them."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _take_settings, (segments.family(), messages.threshold())


def _take_settings(family: str, threshold: int) -> None:
    segments.join_family(family)
    messages.set_threshold(threshold)


def send(envelope: Envelope, sender: Callable[[Envelope], Any]) -> Any:
    """``sender(envelope)``; an envelope that was not sent is discarded."""
    try:
        return sender(envelope)
    except BaseException:
        envelope.discard()
        raise
