"""Pickles made by one real CPython, loaded by another.

    python cross_version.py dump DIR    # writes DIR/<this version>/<sample>.pkl
    python cross_version.py load DIR    # loads every other version's files

The matrix runner calls ``dump`` with each version's interpreter, then
``load`` with each. Data travels between any two versions. Code by value
(a closure, a class, a dynamic module) loads only on the version that made
it: anywhere else it must fail with an UnpicklingError that names both
versions' bytecode tags, before any of its code object is built. ``load``
prints one JSON line per file, whose "ok" says whether the load behaved,
and exits 0 once every file is reported: any other exit is a failure.
"""

from __future__ import annotations

import json
import pickle
import sys
import types
from pathlib import Path

import oxpickle

TAG = sys.implementation.cache_tag
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def closure():
    offset = 40
    return lambda x: x + offset


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def total(self):
        return self.x + self.y


def dynamic_module():
    module = types.ModuleType("cross_version_module")
    exec("def answer():\n    return 42\n", module.__dict__)
    return module


DATA = {"ints": [1, 2**70], "text": "é", "bytes": b"\x00" * 9, "nested": ((1.5,),)}

# Each sample, and what a successful load must give back.
SAMPLES = {
    "data": (lambda: DATA, lambda loaded: loaded == DATA),
    "closure": (closure, lambda loaded: loaded(2) == 42),
    "class": (lambda: Point, lambda loaded: loaded(40, 2).total() == 42),
    "dynamic module": (dynamic_module, lambda loaded: loaded.answer() == 42),
}
BY_VALUE = {"closure", "class", "dynamic module"}


def file_name(sample: str) -> str:
    return sample.replace(" ", "_") + ".pkl"


def dump(folder: Path) -> int:
    own = folder / VERSION
    own.mkdir(parents=True, exist_ok=True)
    for sample, (make, _) in SAMPLES.items():
        (own / file_name(sample)).write_bytes(oxpickle.dumps(make()))
    (own / "tag").write_text(TAG)
    return 0


def load_one(path: Path, sample: str, maker_tag: str) -> dict:
    """Loads one file and says whether it behaved as it must."""
    _, works = SAMPLES[sample]
    data = path.read_bytes()
    same = maker_tag == TAG
    outcome = {"made by": maker_tag, "loaded by": TAG, "sample": sample}
    for name, load in (("oxpickle", oxpickle.loads), ("pickle", pickle.loads)):
        try:
            loaded = load(data)
        except pickle.UnpicklingError as exc:
            message = str(exc)
            refused_clearly = maker_tag in message and TAG in message
            expected = not same and sample in BY_VALUE
            outcome[name] = "refused" if refused_clearly else f"refused unclearly: {message}"
            outcome["ok"] = outcome.get("ok", True) and expected and refused_clearly
            continue
        except Exception as exc:  # any other failure is a wrong answer
            outcome[name] = f"{type(exc).__name__}: {exc}"
            outcome["ok"] = False
            continue
        expected = same or sample not in BY_VALUE
        try:
            outcome[name] = "loaded" if works(loaded) else "loaded a wrong value"
        except Exception as exc:  # what it loaded does not work
            outcome[name] = f"loaded something that fails: {type(exc).__name__}: {exc}"
        outcome["ok"] = outcome.get("ok", True) and expected and outcome[name] == "loaded"
    return outcome


def load(folder: Path) -> int:
    for made in sorted(path for path in folder.iterdir() if path.is_dir()):
        maker_tag = (made / "tag").read_text()
        for sample in SAMPLES:
            print(json.dumps(load_one(made / file_name(sample), sample, maker_tag)), flush=True)
    return 0


def main() -> int:
    command, folder = sys.argv[1], Path(sys.argv[2])
    return {"dump": dump, "load": load}[command](folder)


if __name__ == "__main__":
    sys.exit(main())
