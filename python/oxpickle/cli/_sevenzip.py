"""7z archive members, unpacked in memory with py7zr, an optional
dependency: without it a 7z archive is reported as not scanned."""

from __future__ import annotations

import functools
import io

from ._members import MAX_MEMBER_BYTES, ArchiveError, Entry, Member


def entries(archive_bytes: bytes) -> list[Entry]:
    """Every file of the archive. Raises ArchiveError when py7zr is
    missing or the archive is encrypted or damaged."""
    try:
        import py7zr
        from py7zr.io import BytesIOFactory
    except ImportError as exc:
        raise ArchiveError("reading 7z archives needs py7zr: pip install py7zr") from exc
    # py7zr gives repeated names a suffix (`a.pkl_0`), so every copy is kept.
    factory = BytesIOFactory(MAX_MEMBER_BYTES)
    try:
        with py7zr.SevenZipFile(io.BytesIO(archive_bytes)) as archive:
            if archive.needs_password():
                raise ArchiveError("the archive is encrypted: scan its files once decrypted")
            archive.extractall(factory=factory)
    except ArchiveError:
        raise
    # py7zr reads hostile bytes with several codecs, each with its own
    # exceptions; whatever it raises, the archive could not be read.
    except Exception as exc:
        raise ArchiveError(f"not a readable 7z archive: {exc}") from exc
    files = []
    for name, product in factory.products.items():
        product.seek(0)
        files.append(Entry(name, functools.partial(Member, name, product.read())))
    return files
