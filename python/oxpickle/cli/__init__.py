"""The ``python -m oxpickle`` command line: one module per command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import allowlist, demo, dis, scan, show


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oxpickle",
        description="oxpickle: the pickle format with a Rust engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (allowlist, demo, dis, scan, show):
        command.register(commands)
    args = parser.parse_args(argv)
    return int(args.run(args))
