"""The files a scan reads: each path named, and inside each directory
(recursively, symbolic links to directories not followed) every regular
file that is named like a pickle, NumPy file or archive, or starts like a
protocol 2+ pickle, a NumPy array or an archive. Other entries of a
directory (configs, text, weights in other formats, pipes) are counted as
skipped; a file named on the command line is always scanned."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import _npy
from ._contents import SEVENZIP_MAGIC, ZIP_MAGICS, looks_named_like_pickle

# PROTO 2 to 5 start a pickle of protocol 2 or newer.
_PROTO_STARTS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))
_STARTS = (*_PROTO_STARTS, _npy.MAGIC, *ZIP_MAGICS, SEVENZIP_MAGIC)
_HEAD = max(len(start) for start in _STARTS)


@dataclass
class Walk:
    """Files to scan, in order, and how many directory entries were passed over."""

    files: list[str]
    skipped: int


def files_to_scan(paths: Iterable[str]) -> Walk:
    files: list[str] = []
    skipped = 0
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        for found in _directory_files(path):
            # Regular files only: opening a FIFO or a device would block or never end.
            if os.path.isfile(found) and _worth_scanning(found):
                files.append(found)
            else:
                skipped += 1
    return Walk(files, skipped)


def _directory_files(top: str) -> Iterator[str]:
    for base, directories, names in os.walk(top):
        directories.sort()
        for name in sorted(names):
            yield os.path.join(base, name)


def _worth_scanning(path: str) -> bool:
    if looks_named_like_pickle(path):
        return True
    try:
        with open(path, "rb") as file:
            head = file.read(_HEAD)
    except OSError:
        # Unreadable: scanning it reports why.
        return True
    return head.startswith(_STARTS)
