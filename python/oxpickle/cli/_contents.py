"""From a file's bytes to scan results: a file of pickles, a NumPy array,
or a zip or 7z archive of any of these (PyTorch checkpoints and ``.npz``
files are zip archives). Formats are told apart by their first bytes, as
the loaders that read them do, never by the file name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .._oxpickle import scan
from . import _npy, _sevenzip, _zipread
from ._members import ArchiveError, Entry

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
SEVENZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
# Names a pickle goes by; in a directory or an archive, a file so named
# must be a pickle, and any other is scanned only if it reads as one.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pk", ".pt", ".pth", ".bin", ".ckpt", ".joblib")
CONTAINER_SUFFIXES = (".zip", ".npz", ".7z", ".npy")
# Archives inside archives are followed this deep.
MAX_NESTING = 3


@dataclass
class Result:
    """What one pickle file, array or archive member holds."""

    path: str
    member: str | None
    # "safe", "unknown", "dangerous", or "error" when it could not be scanned.
    status: str
    # The pickles, as the native scan() reports them.
    streams: list[dict[str, Any]] = field(default_factory=list)
    # Why it could not be scanned, or what it holds instead of a pickle.
    message: str | None = None
    # Trailing bytes that are not a pickle: {"offset": ..., "error": ...}.
    rest: dict[str, Any] | None = None
    # Remarks on the container: odd zip headers, encrypted members.
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failed(path: str, member: str | None, message: str) -> Result:
    return Result(path, member, "error", message=message)


def looks_named_like_pickle(name: str) -> bool:
    return name.lower().endswith(PICKLE_SUFFIXES + CONTAINER_SUFFIXES)


def scan_contents(
    path: str, data: bytes, allow: Sequence[str], member: str | None = None, depth: int = 0
) -> list[Result]:
    """Results for the bytes of `path` (or of its archive member `member`)."""
    if data.startswith(ZIP_MAGICS):
        return _scan_archive(path, member, data, allow, depth, _zipread.entries)
    if data.startswith(SEVENZIP_MAGIC):
        return _scan_archive(path, member, data, allow, depth, _sevenzip.entries)
    if data.startswith(_npy.MAGIC):
        return [_numpy(path, member, data, allow)]
    return [_pickles(path, member, data, allow)]


def _pickles(
    path: str, member: str | None, data: bytes, allow: Sequence[str], start: int = 0
) -> Result:
    found = scan(data, list(allow), start=start)
    unreadable = found["unreadable"]
    return Result(
        path,
        member,
        "error" if unreadable else found["verdict"],
        streams=found["streams"],
        message=f"not a pickle: {unreadable}" if unreadable else None,
        rest=found["rest"],
    )


def _numpy(path: str, member: str | None, data: bytes, allow: Sequence[str]) -> Result:
    try:
        start, dtype, has_objects = _npy.read_header(data)
    except _npy.NpyError as exc:
        return failed(path, member, f"NumPy array file: {exc}")
    if not has_objects:
        return Result(path, member, "safe", message=f"no pickle: NumPy array of dtype {dtype}")
    return _pickles(path, member, data, allow, start=start)


def _scan_archive(
    path: str,
    member: str | None,
    data: bytes,
    allow: Sequence[str],
    depth: int,
    list_entries: Callable[[bytes], list[Entry]],
) -> list[Result]:
    try:
        entries = list_entries(data)
    except ArchiveError as exc:
        return [failed(path, member, str(exc))]
    return _archive(path, member, entries, allow, depth)


def _archive(
    path: str,
    member: str | None,
    entries: list[Entry],
    allow: Sequence[str],
    depth: int,
) -> list[Result]:
    """Results for each member that is, or reads as, a pickle."""
    if depth >= MAX_NESTING:
        return [failed(path, member, f"archive nested more than {MAX_NESTING} deep")]
    present = {entry.name for entry in entries}
    results: list[Result] = []
    skipped_encrypted = []
    for entry in entries:
        name = entry.name
        label = f"{member}:{name}" if member else name
        if _is_torch_storage(name, present):
            continue
        content = entry.read()
        if content.data is None:
            results.append(failed(path, label, f"cannot read this member: {content.error}"))
            continue
        expected = looks_named_like_pickle(name) or _is_container(content.data)
        found = scan_contents(path, content.data, allow, label, depth + 1)
        if not expected and all(result.status == "error" for result in found):
            # Any file may sit in an archive; only pickles matter here.
            if content.encrypted:
                skipped_encrypted.append(name)
            continue
        for result in found:
            if content.encrypted and result.status == "error":
                result.message = (
                    f"encrypted member whose stored bytes are not a pickle ({result.message}); "
                    "it cannot be scanned without the password"
                )
            result.notes.extend(content.oddities)
        results.extend(found)
    notes = [
        f"{name}: encrypted, and not a pickle as stored; not named like one, so not scanned"
        for name in skipped_encrypted
    ]
    if not results:
        count = f"{len(entries)} member{'s' if len(entries) != 1 else ''}"
        return [Result(path, member, "safe", message=f"no pickle inside ({count})", notes=notes)]
    results[0].notes[:0] = notes
    return results


def _is_container(data: bytes) -> bool:
    return data.startswith((*ZIP_MAGICS, SEVENZIP_MAGIC, _npy.MAGIC))


def _is_torch_storage(name: str, names: set[str]) -> bool:
    """`<dir>/data/<key>` beside `<dir>/data.pkl`: a tensor storage of a
    PyTorch checkpoint, raw bytes that torch.load never unpickles."""
    head, found, key = name.rpartition("data/")
    in_place = head == "" or head.endswith("/")
    return bool(found) and in_place and "/" not in key and f"{head}data.pkl" in names
