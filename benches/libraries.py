"""The serializers under comparison, behind one calling convention.

Each library is reduced to a ``dumps`` and a ``loads`` callable that take the
same arguments as the standard library's (``buffer_callback``/``buffers`` for
out-of-band runs), so the runner times the library's own entry point and
nothing of ours beyond a ``functools.partial``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import pickle
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cloudpickle
import dill
import msgspec
import oxpickle

from benches.workloads import Workload

# Every pickle-based library writes protocol 5: the default of oxpickle and
# cloudpickle, but not of pickle (5 only since 3.14) nor dill (4).
PROTOCOL = 5

Dumps = Callable[..., bytes]
Loads = Callable[..., Any]


@dataclass(frozen=True)
class Library:
    name: str
    version: str
    dumps: Dumps
    make_loads: Callable[[Workload], Loads]  # msgspec decodes into a workload's type
    pickle_based: bool  # speaks buffer_callback / buffers
    # Why a peer that ships code by value cannot do it on this interpreter
    # (peers can lag behind a new CPython); None when it can.
    cannot_ship_code: str | None = None

    def unsupported_reason(self, workload: Workload) -> str | None:
        if self.name in workload.unsupported:
            return workload.unsupported[self.name]
        if workload.out_of_band and not self.pickle_based:
            return "no out-of-band buffers"
        if workload.ships_code and self.cannot_ship_code:
            return self.cannot_ship_code
        return None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _same_loads(loads: Loads) -> Callable[[Workload], Loads]:
    return lambda _workload: loads


def _msgspec_loads(workload: Workload) -> Loads:
    # Typed decoding (dataclasses) is how msgspec is meant to be used; untyped
    # decoding gives dicts and lists, which is exactly W1-W4's data.
    if workload.msgspec_type is None:
        return msgspec.msgpack.Decoder().decode
    return msgspec.msgpack.Decoder(workload.msgspec_type).decode


def _pickle_family(name: str, module: Any, distribution: str) -> Library:
    return Library(
        name=name,
        version=_version(distribution),
        dumps=functools.partial(module.dumps, protocol=PROTOCOL),
        make_loads=_same_loads(module.loads),
        pickle_based=True,
    )


def _code_peer(name: str, module: Any, distribution: str) -> Library:
    """A peer that ships functions by value, probed once on this
    interpreter (dill 0.4 reads code.co_lnotab, which CPython 3.15 removed)."""
    library = _pickle_family(name, module, distribution)
    try:
        module.loads(module.dumps(lambda x: x + 1, protocol=PROTOCOL))(1)
    except Exception as exc:  # whatever the peer raises, it cannot take part
        reason = (
            f"{name} {library.version} cannot pickle a function on CPython "
            f"{platform.python_version()}: {type(exc).__name__}: {exc}"
        )
        # Said at once, not only in the table: a peer's bug looks the same.
        print(f"note: {reason}; it sits out the code workloads", file=sys.stderr)
        return dataclasses.replace(library, cannot_ship_code=reason)
    return library


def all_libraries() -> list[Library]:
    """In table order: ours first, then the reference (pickle), then the peers."""
    return [
        _pickle_family("oxpickle", oxpickle, "oxpickle"),
        Library(
            name="pickle",
            version=f"C _pickle, protocol {PROTOCOL}",
            dumps=functools.partial(pickle.dumps, protocol=PROTOCOL),
            make_loads=_same_loads(pickle.loads),
            pickle_based=True,
        ),
        _code_peer("cloudpickle", cloudpickle, "cloudpickle"),
        _code_peer("dill", dill, "dill"),
        Library(
            name="msgspec",
            version=_version("msgspec") + " (msgpack)",
            dumps=msgspec.msgpack.Encoder().encode,
            make_loads=_msgspec_loads,
            pickle_based=False,
        ),
    ]


def select_libraries(names: list[str] | None) -> list[Library]:
    libraries = all_libraries()
    if not names:
        return libraries
    wanted = [name.strip().lower() for name in names]
    known = {library.name for library in libraries}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ValueError(f"unknown librar(y/ies): {', '.join(unknown)}; known: {sorted(known)}")
    return [library for library in libraries if library.name in wanted]
