"""What the archive readers (zip, 7z) hand the scanner: members, read one
at a time, and the error of an archive that cannot be read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Larger members are refused rather than unpacked into memory.
MAX_MEMBER_BYTES = 1 << 32


class ArchiveError(Exception):
    """An archive, or one of its members, that cannot be read."""


@dataclass
class Member:
    """A file in an archive: its content, or why it could not be read."""

    name: str
    data: bytes | None
    error: str | None = None
    encrypted: bool = False
    # What a strict reader would have refused, and was read past.
    oddities: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    """A member not read yet: members are read one at a time, so only the
    one being scanned is held in memory."""

    name: str
    read: Callable[[], Member]
