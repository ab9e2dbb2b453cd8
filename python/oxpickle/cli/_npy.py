"""NumPy ``.npy`` headers, read without NumPy: where the data starts and
whether the dtype holds Python objects, which NumPy stores as a pickle
right after the header."""

from __future__ import annotations

import ast
import struct

MAGIC = b"\x93NUMPY"
# NumPy writes headers of a few hundred bytes; anything far bigger is not
# a header to parse.
_MAX_HEADER = 1 << 20
_BYTE_ORDERS = "<>|="


class NpyError(Exception):
    """A malformed ``.npy`` header."""


def read_header(data: bytes) -> tuple[int, str, bool]:
    """(offset where the array data starts, dtype description, whether the
    dtype holds objects) of an ``.npy`` file."""
    if len(data) < 10 or not data.startswith(MAGIC):
        raise NpyError("no .npy header")
    major = data[6]
    if major == 1:
        (length,), start = struct.unpack("<H", data[8:10]), 10
    elif major in (2, 3) and len(data) >= 12:
        (length,), start = struct.unpack("<I", data[8:12]), 12
    else:
        raise NpyError(f"unknown .npy format version {major}.{data[7]}")
    if length > _MAX_HEADER or start + length > len(data):
        raise NpyError(f"header of {length:,} bytes does not fit the file")
    encoding = "utf-8" if major == 3 else "latin1"
    try:
        header = ast.literal_eval(data[start : start + length].decode(encoding))
        descr = header["descr"]
        has_objects = _holds_objects(descr)
    except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError) as exc:
        raise NpyError(f"unreadable .npy header ({type(exc).__name__}: {exc})") from exc
    return start + length, str(descr), has_objects


def _holds_objects(descr: object) -> bool:
    """Whether a dtype description (a type string, or a list of fields
    `(name, descr[, shape])`) has an object ('O') anywhere."""
    pending = [descr]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if item.lstrip(_BYTE_ORDERS).startswith("O"):
                return True
        elif isinstance(item, list):
            for fields in item:
                if not isinstance(fields, tuple) or len(fields) < 2:
                    raise TypeError(f"bad field description {fields!r}")
                pending.append(fields[1])
        else:
            raise TypeError(f"bad dtype description {item!r}")
    return False
