"""Zip members read the way a lenient loader reads them.

``zipfile`` refuses members whose local header disagrees with the central
directory, whose CRC is wrong, or whose flags announce encryption or
patch data. Loaders that matter here do not all refuse: PyTorch's reader
takes the central directory's offsets and sizes and the bytes as stored.
A scanner that refused such members would pass over exactly the files a
crafted archive hides its pickle in, so members are read from the central
directory's offset and sizes, past the local header, ignoring flags, the
local name and the CRC. What was ignored is reported alongside.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

from ._members import MAX_MEMBER_BYTES, ArchiveError, Entry, Member

_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_HEADER_SIZE = 30
_STORED, _DEFLATED = 0, 8
_ENCRYPTED_FLAG = 0x1


def entries(archive_bytes: bytes) -> list[Entry]:
    """Every file member, in central directory order, repeated names
    included (a loader may read either copy). Raises ArchiveError when
    there is no readable central directory at all."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from exc
    return [
        Entry(info.filename, functools.partial(_read_member, archive, archive_bytes, info))
        for info in archive.infolist()
        if not info.is_dir()
    ]


def _read_member(archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo) -> Member:
    try:
        return _read(archive, data, info)
    except ArchiveError as exc:
        return Member(info.filename, None, error=str(exc))


def _read(archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo) -> Member:
    if info.file_size > MAX_MEMBER_BYTES:
        raise ArchiveError(f"{info.file_size:,} bytes uncompressed, over the scan limit")
    start = info.header_offset
    header = data[start : start + _LOCAL_HEADER_SIZE]
    if len(header) < _LOCAL_HEADER_SIZE or not header.startswith(_LOCAL_HEADER):
        raise ArchiveError(f"no local header at byte {start}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    local_name = _header_name(data, start, name_len)
    begin = start + _LOCAL_HEADER_SIZE + name_len + extra_len
    stored = data[begin : begin + info.compress_size]
    if len(stored) < info.compress_size:
        raise ArchiveError(f"data cut short at byte {len(data)}")
    if info.compress_type == _STORED:
        content = stored
    elif info.compress_type == _DEFLATED:
        content = _inflate(stored, info.file_size)
    else:
        content = _read_strictly(archive, info)
    oddities = []
    if local_name != info.filename:
        oddities.append(f"local header names it {local_name!r}")
    encrypted = bool(info.flag_bits & _ENCRYPTED_FLAG)
    if encrypted:
        oddities.append("marked encrypted: scanned as stored")
    if zlib.crc32(content) != info.CRC:
        oddities.append("CRC does not match")
    return Member(info.filename, content, encrypted=encrypted, oddities=oddities)


def _header_name(data: bytes, start: int, length: int) -> str:
    raw = data[start + _LOCAL_HEADER_SIZE : start + _LOCAL_HEADER_SIZE + length]
    return raw.decode("utf-8", "replace")


def _inflate(stored: bytes, declared_size: int) -> bytes:
    if declared_size == 0:
        return b""  # zlib reads a limit of 0 as no limit at all
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        return inflater.decompress(stored, declared_size)
    except zlib.error as exc:
        raise ArchiveError(f"bad deflate data ({exc})") from exc


def _read_strictly(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Other compression methods (bzip2, LZMA) through zipfile itself."""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        raise ArchiveError(str(exc)) from exc
