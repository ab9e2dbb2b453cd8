"""``show FILE``: the value each pickle in a file describes, decoded by the
Rust core's value machine: globals stay names and calls stay
descriptions, so nothing is imported or run."""

from __future__ import annotations

import argparse
import sys

from .._oxpickle import show
from ._input import read_or_complain


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "show",
        help="print the value a pickle describes, without loading it",
        description="Print the value of each pickle in FILE ('-' for standard input) as "
        "Python-like text, or with --json as a JSON tree: scalars as JSON values, "
        'globals as {"global": "module.name"}, calls as {"call": ..., "args": ...}, '
        'shared values as {"ref": id}. Several pickles one after another are shown in turn.',
    )
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print a JSON array of trees")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=1_000_000,
        metavar="N",
        help="cut the text of each value near N characters (not with --json)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data = read_or_complain(args.file)
    if data is None:
        return 2
    shown, error = show(data, json=args.json, max_chars=max(args.max_chars, 0))
    if args.json:
        # Each tree is JSON text already: the array is written around them.
        items = [f'{{"offset": {offset}, "value": {tree}}}' for offset, tree in shown]
        print("[" + ",\n".join(items) + "]")
    else:
        for offset, text in shown:
            if len(shown) > 1 or offset:
                print(f"--- pickle at byte {offset} ---")
            print(text)
    if error is not None:
        print(f"error: {error} of {args.file}", file=sys.stderr)
        return 1
    return 0
