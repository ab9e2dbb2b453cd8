"""The stdlib's multiprocessing contexts, with everything that crosses a
process boundary pickled by oxpickle.

multiprocessing binds its pickler by name at import, so these types change
what they hand it instead: each object a queue, a pipe or a process start
sends goes out in an `Envelope`, which the stdlib's pickler turns into an
oxpickle stream (big buffers in shared memory) and the stdlib's unpickler
on the other side opens. The receiving end needs no patch, and reducers
registered with ``copyreg`` or ``ForkingPickler.register`` keep working:
oxpickle honours both.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import multiprocessing.queues
from multiprocessing import connection, context, reduction
from typing import Any

from .. import _segments
from .._transport import Envelope


class Connection(connection.Connection):
    """A pipe end whose ``send`` pickles with oxpickle."""

    def send(self, obj: Any) -> None:
        super().send(Envelope(obj))


def _as_ours(conn: connection.Connection) -> Connection:
    conn.__class__ = Connection
    return conn


def _reduce_connection(conn: Connection) -> tuple[Any, tuple[Any, ...]]:
    """Sent to another process (as a Process argument, inside a queue), a
    pipe end stays one of ours: the stdlib's reducer, then the class."""
    rebuild, args = reduction.ForkingPickler._extra_reducers[connection.Connection](conn)
    return _rebuild_connection, (rebuild, args)


def _rebuild_connection(rebuild: Any, args: tuple[Any, ...]) -> Connection:
    return _as_ours(rebuild(*args))


reduction.register(Connection, _reduce_connection)


def Pipe(duplex: bool = True) -> tuple[Connection, Connection]:
    """``multiprocessing.Pipe``, both ends sending with oxpickle."""
    first, second = connection.Pipe(duplex)
    return _as_ours(first), _as_ours(second)


class Queue(multiprocessing.queues.Queue):
    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(Envelope(obj), block, timeout)


class JoinableQueue(multiprocessing.queues.JoinableQueue):
    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(Envelope(obj), block, timeout)


class SimpleQueue(multiprocessing.queues.SimpleQueue):
    """Its pipe ends are ours too: ``Pool`` sends tasks through the writer's
    ``send`` directly."""

    def __init__(self, *, ctx: Any) -> None:
        super().__init__(ctx=ctx)
        _as_ours(self._reader)
        _as_ours(self._writer)

    def put(self, obj: Any) -> None:
        super().put(Envelope(obj))


class _Sent:
    """A process object started by spawn or forkserver: its state (target,
    arguments, initializer) goes in an envelope."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuilt_process, (type(self), Envelope(self.__dict__))


def _rebuilt_process(cls: type, state: dict[str, Any]) -> Any:
    process = cls.__new__(cls)
    process.__dict__.update(state)
    return process


class Pool(multiprocessing.pool.Pool):
    """``multiprocessing.Pool``; what its workers leave in shared memory
    (a worker killed mid-task) is removed when it is joined or terminated."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._worker_pids: set[int] = set()
        super().__init__(*args, **kwargs)

    def _repopulate_pool(self) -> Any:
        # Also run by the pool's maintenance thread as workers exit.
        started = super()._repopulate_pool()
        self._worker_pids.update(worker.pid for worker in self._pool if worker.pid)
        return started

    def join(self) -> None:
        super().join()
        self._sweep()

    def terminate(self) -> None:
        super().terminate()
        self._sweep()

    def _sweep(self) -> None:
        for pid in self._worker_pids:
            _segments.sweep(pid)


def _context_type(base: type[context.BaseContext], process: type) -> type:
    """A subclass of the stdlib context `base` that makes our types."""

    def pool(self: Any, processes: Any = None, *args: Any, **kwargs: Any) -> Pool:
        return Pool(processes, *args, context=self, **kwargs)

    namespace = {
        "Process": process,
        "Pipe": staticmethod(Pipe),
        "Queue": lambda self, maxsize=0: Queue(maxsize, ctx=self.get_context()),
        "JoinableQueue": lambda self, maxsize=0: JoinableQueue(maxsize, ctx=self.get_context()),
        "SimpleQueue": lambda self: SimpleQueue(ctx=self.get_context()),
        "Pool": pool,
        "__module__": __name__,
    }
    return type(base.__name__, (base,), namespace)


def _process_type(base: type, sent: bool) -> type:
    bases = (_Sent, base) if sent else (base,)
    return type(base.__name__, bases, {"__module__": __name__})


SpawnProcess = _process_type(context.SpawnProcess, sent=True)
ForkProcess = _process_type(context.ForkProcess, sent=False)
ForkServerProcess = _process_type(context.ForkServerProcess, sent=True)
SpawnContext = _context_type(context.SpawnContext, SpawnProcess)
ForkContext = _context_type(context.ForkContext, ForkProcess)
ForkServerContext = _context_type(context.ForkServerContext, ForkServerProcess)

CONTEXTS = {
    "spawn": SpawnContext(),
    "fork": ForkContext(),
    "forkserver": ForkServerContext(),
}


def get_context(method: str | None = None) -> context.BaseContext:
    """The context for start `method` (the stdlib's default when None)."""
    if method is None:
        method = multiprocessing.get_start_method()
    try:
        return CONTEXTS[method]
    except KeyError:
        raise ValueError(
            f"cannot find context for {method!r}; methods: {', '.join(CONTEXTS)}"
        ) from None
