"""The file a command reads: a path, or '-' for standard input."""

from __future__ import annotations

import sys


def read_or_complain(name: str) -> bytes | None:
    """The bytes of `name`, or None after saying on stderr why not."""
    try:
        if name == "-":
            return sys.stdin.buffer.read()
        with open(name, "rb") as file:
            return file.read()
    except OSError as exc:
        print(f"error: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return None
