"""``oxpickle.dask``: oxpickle as the pickler of Dask distributed's client,
scheduler and workers.

Stock distributed pickles a task with the stdlib, then again with
cloudpickle whenever the stream names ``__main__`` or the stdlib refuses
(a lambda, a closure): most graphs are pickled twice. Here every process
pickles once, with oxpickle, which sends code by value itself; buffers go
out of band as PEP 574 frames, wherever they sit in the object.

Three ways in, one for each kind of process start:

- ``dask scheduler --preload oxpickle.dask`` and ``dask worker --preload
  oxpickle.dask`` (or ``preload=["oxpickle.dask"]`` for a ``LocalCluster``'s
  workers, and ``scheduler_kwargs={"preload": ...}`` for its scheduler);
- ``oxpickle.dask.install(client)`` for a cluster that is running: this
  process, the scheduler, every worker, and the workers that join later;
- ``oxpickle.dask.install_here()`` for this process alone.

A process without it still loads what oxpickle writes, if oxpickle is
installed there: the streams are pickle's format, and code by value names
oxpickle's helpers. Where oxpickle cannot be imported, the task fails with
ModuleNotFoundError, as any task whose module is missing does.
"""

from __future__ import annotations

import io
import logging
import pickle
import sys
from collections.abc import Callable, Iterable
from typing import Any

import distributed.protocol.pickle
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.protocol.serialize import dask_deserialize, dask_serialize

from . import Pickler
from . import dumps as _dumps
from . import loads as _loads

logger = logging.getLogger(__name__)

PLUGIN_NAME = "oxpickle"


def dumps(
    obj: Any,
    *,
    buffer_callback: Callable[[pickle.PickleBuffer], Any] | None = None,
    protocol: int | None = pickle.HIGHEST_PROTOCOL,
) -> bytes:
    """`distributed.protocol.pickle.dumps`, by oxpickle: one pass, code by
    value, buffers to `buffer_callback` from protocol 5."""
    protocol = protocol or pickle.HIGHEST_PROTOCOL
    if buffer_callback is None or protocol < 5:
        return _pickled(obj, protocol, None)
    # Only the buffers of the pass that succeeded are handed over.
    buffers: list[pickle.PickleBuffer] = []
    stream = _pickled(obj, protocol, buffers)
    for buffer in buffers:
        buffer_callback(buffer)
    return stream


def _pickled(obj: Any, protocol: int, buffers: list[pickle.PickleBuffer] | None) -> bytes:
    callback = None if buffers is None else buffers.append
    try:
        return _dumps(obj, protocol, buffer_callback=callback)
    except Exception:
        # What only a Dask serializer can write (as stock distributed does
        # it, for the objects pickle refuses).
        if buffers is not None:
            buffers.clear()
        out = io.BytesIO()
        _WithDaskSerializers(out, protocol, buffer_callback=callback).dump(obj)
        return out.getvalue()


class _WithDaskSerializers(Pickler):
    """A pickler that writes an object of a type with a registered Dask
    serializer through it."""

    def reducer_override(self, obj: Any) -> Any:
        try:
            serialize = dask_serialize.dispatch(type(obj))
            deserialize = dask_deserialize.dispatch(type(obj))
        except TypeError:  # no serializer for the type
            return NotImplemented
        return deserialize, serialize(obj)


def loads(data: bytes, *, buffers: Iterable[Any] = ()) -> Any:
    """`distributed.protocol.pickle.loads`, by oxpickle."""
    try:
        return _loads(data, buffers=buffers)
    except Exception:
        logger.info("oxpickle could not load %r", bytes(data[:100]), exc_info=True)
        raise


def _bound_names() -> list[tuple[Any, str, Any]]:
    """(module, name, stock function) for every binding of distributed's
    pickle functions: its module's, and the copies other modules of
    distributed took at import (`from distributed.protocol.pickle import
    dumps`)."""
    stock = distributed.protocol.pickle
    functions = {name: getattr(stock, name) for name in ("dumps", "loads")}
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.partition(".")[0] == "distributed":
            continue
        for name, function in functions.items():
            if getattr(module, name, None) is function:
                found.append((module, name, function))
    return found


_installed: list[tuple[Any, str, Any]] = []


def install_here() -> None:
    """Makes this process's distributed pickle with oxpickle. Idempotent."""
    if _installed:
        return
    ours = {"dumps": dumps, "loads": loads}
    bindings = _bound_names()
    for module, name, _ in bindings:
        setattr(module, name, ours[name])
    _installed.extend(bindings)


def uninstall_here() -> None:
    """Puts this process's stock pickle functions back."""
    while _installed:
        module, name, function = _installed.pop()
        setattr(module, name, function)


def installed_here() -> bool:
    return bool(_installed)


def dask_setup(service: Any) -> None:
    """The preload hook: `--preload oxpickle.dask` calls it in the
    scheduler's or the worker's process, before it takes work."""
    install_here()


class Plugin(WorkerPlugin):
    """Installs oxpickle in each worker as it starts, those that join later
    included; `install(client)` registers it."""

    name = PLUGIN_NAME
    idempotent = True

    def setup(self, worker: Any) -> None:
        install_here()


def install(client: Any) -> None:
    """Makes a running cluster pickle with oxpickle: this process, the
    scheduler and every worker, now and as they join."""
    install_here()
    client.run_on_scheduler(install_here)
    client.register_plugin(Plugin(), name=PLUGIN_NAME)
