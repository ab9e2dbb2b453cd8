"""``allowlist [PROFILE...]``: the profiles ``allow=`` and ``--allow``
accept, read from the core's profile table: each global, and what the
arguments of a call on it are checked for. ``--markdown`` prints the
table that SECURITY.md holds (a test keeps the two the same)."""

from __future__ import annotations

import argparse
import sys

from .._oxpickle import allowlist_profiles


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "allowlist",
        help="list the allowlist profiles, their globals and argument rules",
        description="Print the profiles allow= and --allow accept: every global each one "
        "lets a restricted load import and call, with what the arguments of such a call "
        "are checked for.",
    )
    parser.add_argument("profiles", nargs="*", metavar="PROFILE", help="only these profiles")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    table = allowlist_profiles()
    known = [name for name, _, _ in table]
    unknown = [name for name in args.profiles if name not in known]
    if unknown:
        print(
            f"error: no profile {', '.join(unknown)}; profiles: {', '.join(known)}", file=sys.stderr
        )
        return 2
    chosen = [row for row in table if not args.profiles or row[0] in args.profiles]
    print(markdown(chosen) if args.markdown else text(chosen), end="")
    return 0


def text(profiles: list[tuple[str, str, list[tuple[str, str, str]]]]) -> str:
    """One block per profile: its name and summary, then a line per global."""
    blocks = []
    for name, summary, entries in profiles:
        width = max(len(f"{module}:{qualname}") for module, qualname, _ in entries)
        lines = [f"{name}: {summary}"]
        lines += [
            f"  {f'{module}:{qualname}':<{width}}  {rule}" for module, qualname, rule in entries
        ]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def markdown(profiles: list[tuple[str, str, list[tuple[str, str, str]]]]) -> str:
    """A heading and a table per profile."""
    blocks = []
    for name, summary, entries in profiles:
        rows = [f"#### `{name}`: {summary}", "", "| global | arguments |", "|---|---|"]
        rows += [f"| `{module}.{qualname}` | {rule} |" for module, qualname, rule in entries]
        blocks.append("\n".join(rows) + "\n")
    return "\n".join(blocks)
