"""The command line that the benchmarks of whole systems (process pools,
clusters) share: sizes, rounds, where the table goes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parser(prog: str, description: str | None, out: Path, rounds: str) -> argparse.ArgumentParser:
    """--quick, --rounds, --out and the hidden --scale; `rounds` is the
    default the help names."""
    made = argparse.ArgumentParser(prog=prog, description=description)
    made.add_argument("--quick", action="store_true", help="sizes x 0.1")
    made.add_argument("--rounds", type=int, metavar="N", help=f"rounds per row (default: {rounds})")
    made.add_argument("--out", type=Path, default=out)
    # Hidden: a further size multiplier, so the smoke tests run in seconds.
    made.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    return made


def scale(args: argparse.Namespace) -> float:
    return (0.1 if args.quick else 1.0) * args.scale


def reads_proc(name: str) -> bool:
    """Whether this system has /proc, which the memory figures read."""
    if sys.platform == "linux":
        return True
    print(f"the {name} benchmark reads /proc: Linux only", file=sys.stderr)
    return False


def publish(text: str, out: Path) -> None:
    out.write_text(text + "\n")
    print(text)
    print(f"wrote {out}", file=sys.stderr)
