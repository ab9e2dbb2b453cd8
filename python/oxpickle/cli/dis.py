"""``dis FILE``: the disassembly of every pickle in a file, from the Rust
core (nothing in the file is imported or run)."""

from __future__ import annotations

import argparse
import re
import sys

from .._oxpickle import dis as disassemble
from ._input import read_or_complain

_STOP_LINE = re.compile(r"^\s*(\d+): \.\s+STOP$", re.MULTILINE)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dis",
        help="disassemble pickles, like pickletools.dis, without loading them",
        description="Print the opcodes of each pickle in FILE ('-' for standard input). "
        "Several pickles written one after another are listed in turn.",
    )
    parser.add_argument("file", metavar="FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data = read_or_complain(args.file)
    if data is None:
        return 2
    offset = 0
    while offset < len(data):
        text, error = disassemble(data[offset:])
        if offset:
            print(f"--- pickle at byte {offset} ---")
        sys.stdout.write(text)
        if error is not None:
            where = f"pickle starting at byte {offset} of {args.file}"
            print(f"error: {error} ({where})", file=sys.stderr)
            return 1
        offset += end_of_pickle(text)
    return 0


def end_of_pickle(listing: str) -> int:
    """Bytes the listed pickle takes: its STOP opcode's position plus one."""
    stops = _STOP_LINE.findall(listing)
    if not stops:
        raise ValueError("a complete listing ends with STOP")
    return int(stops[-1]) + 1
