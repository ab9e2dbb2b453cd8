"""Shared-memory segments for out-of-band buffers: made, mapped, removed.

A segment is a file in ``/dev/shm`` (POSIX shared memory) named
``oxp_<family>_<pid>_<n>``:

* ``family`` is a random token shared by a process and the workers it
  starts (through the ``OXPICKLE_SHM_FAMILY`` environment variable, which
  spawned, forked and forkserver children all inherit). A receiver maps
  only segments of its own family, so a peer cannot point a worker at
  arbitrary shared memory by naming it.
* ``pid`` is the process that made it, so the owner of a pool can remove
  what a worker left behind when the worker died.

Every name a message carries is the message's own: a segment made for it,
or, for memory that already lies in a segment (``oxpickle.shared``), a
second name (a hard link) for that segment's memory. The receiver maps
it and removes the name at once, so the memory lives exactly as long as
the objects that use it, whatever the sender does meanwhile, and each name
is unlinked exactly once. A receiver of shared memory keeps the name
instead, renamed as its own, so the memory can travel on by reference; it
is removed with the receiver's mapping.

What a message never received leaves behind is removed by the owner of the
pool when it shuts down (``sweep``, by the pid of each worker; the calls it
sent itself are removed one by one) and, for the whole family, when the
process that made the token exits, after multiprocessing has joined its
children.

Receivers map segments privately (copy on write) unless the segment was
made to be shared: a receiver's writes then stay its own, and nothing is
copied until it writes.
"""

from __future__ import annotations

import itertools
import mmap
import os
import secrets
import threading
from collections.abc import Callable
from multiprocessing import util
from pathlib import Path
from typing import TypeVar

from .._oxpickle import UnpicklingError

SHM_DIR = Path("/dev/shm")
FAMILY_VARIABLE = "OXPICKLE_SHM_FAMILY"
PREFIX = "oxp_"
T = TypeVar("T")


_family_lock = threading.Lock()


def family() -> str:
    """This process family's token, made by the first process that needs one
    and inherited by every process it starts."""
    with _family_lock:
        token = os.environ.get(FAMILY_VARIABLE)
        if token is None or not _is_token(token):
            token = secrets.token_hex(8)
            os.environ[FAMILY_VARIABLE] = token
            # After multiprocessing's exit handler has joined the children
            # (finalizers below priority 0 run last); children start with an
            # empty registry, so only this process runs it.
            util.Finalize(None, sweep_family, exitpriority=-1)
        return token


def join_family(token: str) -> None:
    """Takes the family token a parent sent (a forkserver child's
    environment is the server's, not its parent's)."""
    if _is_token(token):
        with _family_lock:
            os.environ[FAMILY_VARIABLE] = token


def _is_token(token: str) -> bool:
    return token.isascii() and token.isalnum()


def family_prefix() -> str:
    return f"{PREFIX}{family()}_"


def process_prefix(pid: int) -> str:
    """The names segments made by process `pid` start with."""
    return f"{family_prefix()}{pid}_"


def is_ours(name: str) -> bool:
    """Whether `name` is a segment of this family: the only names any
    function here turns into a path, so a stream cannot reach another file."""
    prefix = family_prefix()
    if not name.startswith(prefix):
        return False
    pid, _, number = name[len(prefix) :].partition("_")
    return pid.isascii() and pid.isdigit() and number.isascii() and number.isdigit()


def checked_name(name: str) -> str:
    """`name`, if a stream may name it: a segment of this family."""
    if not is_ours(name):
        raise UnpicklingError(
            f"the pickle names shared-memory segment {name!r:.200}, which this process family "
            "did not make; only segments made by the pool's own processes are mapped"
        )
    return name


def _path(name: str) -> Path:
    if not is_ours(name):
        raise ValueError(f"{name!r} is not a shared-memory segment of this process family")
    return SHM_DIR / name


_counter = itertools.count()
_lock = threading.Lock()


def _reset_after_fork() -> None:
    # A fork taken while another thread held a lock leaves it held forever.
    global _lock, _family_lock
    _lock, _family_lock = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _new_name() -> str:
    with _lock:
        return f"{process_prefix(os.getpid())}{next(_counter)}"


def _made_under_new_name(make: Callable[[Path], T]) -> tuple[str, T]:
    """``make(path)`` under a name not yet taken: a name a dead process
    with the same pid left behind is skipped."""
    while True:
        name = _new_name()
        try:
            return name, make(SHM_DIR / name)
        except FileExistsError:
            continue


def create(size: int) -> tuple[str, mmap.mmap]:
    """A new segment of `size` bytes (at least one), mapped for writing."""
    name, fd = _made_under_new_name(
        lambda path: os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    )
    try:
        os.ftruncate(fd, max(size, 1))
        return name, mmap.mmap(fd, max(size, 1))
    except BaseException:
        remove(name)
        raise
    finally:
        os.close(fd)


def link(name: str) -> str | None:
    """A new name of this process's for the memory of segment `name`; None
    if that name is gone (removed by hand: the memory is then copied)."""
    source = _path(name)
    try:
        new, _ = _made_under_new_name(lambda path: os.link(source, path))
    except FileNotFoundError:
        return None
    return new


def adopt(name: str) -> str:
    """Renames a received segment as one of this process's."""
    source = _path(name)
    # link, then unlink: rename would replace a name left by a dead process.
    new, _ = _made_under_new_name(lambda path: os.link(source, path))
    remove(name)
    return new


def attach(name: str, size: int, *, shared: bool) -> mmap.mmap:
    """Maps the segment `name` of `size` bytes: privately (copy on write)
    unless `shared`. Refuses names of another family."""
    try:
        fd = os.open(SHM_DIR / checked_name(name), os.O_RDWR if shared else os.O_RDONLY)
    except FileNotFoundError:
        raise UnpicklingError(
            f"shared-memory segment {name!r} is gone: its sender removed it or exited, or it "
            "was received already"
        ) from None
    try:
        if os.fstat(fd).st_size < size:
            raise UnpicklingError(
                f"shared-memory segment {name!r} holds fewer than the {size} bytes the pickle says"
            )
        flags = mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE
        return mmap.mmap(fd, max(size, 1), flags=flags, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)


def remove(name: str) -> None:
    """Removes a segment's name (its memory stays while it is mapped)."""
    try:
        os.unlink(_path(name))
    except FileNotFoundError:
        pass


def exists(name: str) -> bool:
    return _path(name).exists()


def sweep(pid: int) -> None:
    """Removes every segment process `pid`, which has exited, made and left
    behind (a worker that died, a message never received). A process alive
    with that pid is another that reused it, whose segments are in use:
    they stay, and what the first one left goes with the family, when its
    first process exits."""
    if not _running(pid):
        _remove_all(process_prefix(pid))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_family() -> None:
    """Removes every segment of this process family."""
    _remove_all(family_prefix())


def _remove_all(prefix: str) -> None:
    for path in SHM_DIR.glob(f"{prefix}*"):
        if is_ours(path.name):
            remove(path.name)
