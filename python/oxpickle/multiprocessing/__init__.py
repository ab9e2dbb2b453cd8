"""multiprocessing with everything that crosses a process boundary pickled
by oxpickle: lambdas, closures and ``__main__`` classes travel, and buffers
of 1 MiB or more (``oxpickle.shared.set_threshold``) go through shared
memory, so only the pickle stream crosses the pipe.

The surface is the stdlib's: ``get_context``, ``Process``, ``Queue``,
``JoinableQueue``, ``SimpleQueue``, ``Pipe``, ``Pool``, ``Manager``, ... for
spawn, fork and forkserver. ``install()`` switches the stdlib's own
multiprocessing and concurrent.futures to oxpickle instead, for pools you do
not create yourself.

One difference from the stdlib: functions of ``__main__`` travel by value,
so in a worker they see the globals they were sent with, not ones an
initializer set in the worker's ``__main__`` (as with loky, loky#206).
Pass such state as an argument, or keep the function in a module.
"""

from __future__ import annotations

import multiprocessing as _stdlib
from typing import Any

from ._context import CONTEXTS, Connection, get_context
from ._install import install, uninstall


def __getattr__(name: str) -> Any:
    # What a context offers comes from the context of the current start
    # method (``set_start_method`` counts), the rest of the stdlib's
    # surface as it is.
    if not name.startswith("_"):
        context = get_context()
        if hasattr(context, name):
            return getattr(context, name)
    return getattr(_stdlib, name)


__all__ = ["CONTEXTS", "Connection", "get_context", "install", "uninstall"]
