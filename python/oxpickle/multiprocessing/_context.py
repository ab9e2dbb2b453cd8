"""The stdlib's multiprocessing contexts, with everything that crosses a
process boundary pickled by oxpickle.

multiprocessing binds its pickler by name at import, so these types change
what they hand it instead: each object a queue, a pipe or a process start
sends goes out in an envelope (``oxpickle._transport.envelopes``), which the stdlib's pickler
passes through as an oxpickle stream (big buffers in shared memory) and the
stdlib's unpickler on the other side opens. The receiving end needs no
patch, and reducers registered with ``copyreg`` or
``ForkingPickler.register`` keep working: oxpickle honours both.

A pool's tasks go sealed, opened by the worker inside the task, and its
results as replies: a task or a result that cannot be loaded fails that
call, with the error in the caller, and the pool goes on.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import multiprocessing.queues
from functools import partial
from multiprocessing import connection, context, reduction
from typing import Any

from .._transport import segments
from .._transport.envelopes import Envelope, ReplyQueue, Sealed, Settings, call_sealed, send


class Connection(connection.Connection):
    """A pipe end whose ``send`` pickles with oxpickle."""

    def send(self, obj: Any) -> None:
        send(Envelope(obj), super().send)


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


class _PutsEnvelopes:
    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        send(Envelope(obj), partial(super().put, block=block, timeout=timeout))  # type: ignore[misc]


class Queue(_PutsEnvelopes, multiprocessing.queues.Queue):
    pass


class JoinableQueue(_PutsEnvelopes, multiprocessing.queues.JoinableQueue):
    pass


class SimpleQueue(multiprocessing.queues.SimpleQueue):
    def put(self, obj: Any) -> None:
        send(Envelope(obj), super().put)


class _Sent:
    """A process object started by spawn or forkserver: its state (target,
    arguments, initializer) goes in an envelope."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuilt_process, (type(self), Settings(), Envelope(self.__dict__))


def _rebuilt_process(cls: type, _settings: None, state: dict[str, Any]) -> Any:
    process = cls.__new__(cls)
    process.__dict__.update(state)
    return process


class _TaskSender:
    """Sends a pool's tasks sealed, and remembers the segments they made
    until the pool ends: a worker removes a task's segments when it opens
    it, but a task never opened (the pool terminated) leaves them."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self.segments: set[str] = set()
        # Names already removed are forgotten when the set doubles.
        self._prune_at = 1024

    def __call__(self, task: Any) -> None:
        if task is None or task[2] is multiprocessing.pool._helper_reraises_exception:
            # A worker's sentinel, or the error of the caller's own iterable,
            # which the worker must see as the stdlib sends it.
            self._send(task)
            return
        job, index, function, args, kwargs = task
        sealed = Sealed((function, args, kwargs))
        send(sealed, lambda sealed: self._send((job, index, call_sealed, (sealed,), {})))
        if sealed.segments:
            self.segments.update(sealed.segments)
            if len(self.segments) >= self._prune_at:
                self.segments = {name for name in self.segments if segments.exists(name)}
                self._prune_at = 2 * max(len(self.segments), 512)


def _failed_task(error: Exception, job: int, index: int) -> tuple[int, int, tuple[bool, Exception]]:
    return job, index, (False, error)


class _PoolResults(ReplyQueue):
    """A pool's results: one the parent cannot load becomes its task's error."""

    def routing(self, obj: Any) -> tuple[Any, tuple[int, int]] | None:
        if obj is None:  # the parent's sentinel for its result thread
            return None
        job, index, _ = obj
        return _failed_task, (job, index)


class Pool(multiprocessing.pool.Pool):
    """``multiprocessing.Pool``; what its tasks and workers leave in shared
    memory (a task never run, a worker killed mid-task) is removed when the
    pool is joined or terminated."""

    def _setup_queues(self) -> None:
        # Run by the stdlib's __init__ after it made the (empty) worker list.
        self._pool = _Workers()
        # Tasks are sealed by the sender, so the queue itself is the stdlib's.
        self._inqueue = multiprocessing.queues.SimpleQueue(ctx=self._ctx)
        self._outqueue = _PoolResults(ctx=self._ctx)
        self._task_sender = _TaskSender(self._inqueue._writer.send)
        self._quick_put = self._task_sender
        self._quick_get = self._outqueue._reader.recv

    def join(self) -> None:
        super().join()
        self._sweep()

    def terminate(self) -> None:
        super().terminate()
        self._sweep()

    def _sweep(self) -> None:
        for name in self._task_sender.segments:
            segments.remove(name)
        for pid in self._pool.pids:
            segments.sweep(pid)


class _Workers(list):
    """A pool's list of workers, which remembers every worker it held:
    the pool's maintenance thread appends the replacements of those that
    exit (``maxtasksperchild``, a worker killed)."""

    def __init__(self) -> None:
        super().__init__()
        self.pids: set[int] = set()

    def append(self, worker: Any) -> None:
        super().append(worker)
        self.pids.add(worker.pid)


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


class _InFamily:
    """A process started with the family's token in its environment, so it
    maps the segments its parent makes (and they it)."""

    def start(self) -> None:
        segments.family()
        super().start()  # type: ignore[misc]


def _process_type(base: type, sent: bool) -> type:
    bases = (_InFamily, _Sent, base) if sent else (_InFamily, base)
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
