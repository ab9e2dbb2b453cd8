"""The benchmark workloads: what is pickled, how big, and how a round trip is checked.

Every builder is deterministic: it takes the element count and draws from
``random.Random(SEED)`` / ``numpy.random.default_rng(SEED)``, so two runs (and
two machines) pickle the same objects. Sizes are the full-run sizes; the runner
multiplies them by a scale factor (0.1 for ``--quick``).
"""

from __future__ import annotations

import math
import operator
import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benches import checks, models
from benches.byvalue import distinct_functions, make_polynomial, make_scaler

SEED = 20240607

NOT_PICKLABLE_BY_STDLIB = "stdlib pickle cannot ship lambdas/closures by value"


@dataclass(frozen=True)
class Workload:
    """One object to pickle, and everything the runner needs to know about it."""

    id: str  # "W6b": unique, used in the table
    group: str  # "W6": what ``--workloads`` selects
    base_count: int  # elements at scale 1.0
    describe: Callable[[int], str]  # title for a given element count
    build: Callable[[int], Any]
    check: Callable[[Any, Any], None]
    # Library name -> why it does not take part ("n/a" in the table).
    unsupported: Mapping[str, str] = field(default_factory=dict)
    msgspec_type: Any = None  # a type for msgspec's typed decoder; None: untyped
    out_of_band: bool = False  # protocol 5 buffer_callback / buffers
    cross_load: bool = False  # add "oxpickle loads pickle's stream"
    copy_reference: bool = False  # add memcpy-style reference rows
    ships_code: bool = False  # functions by value: only code-shipping peers

    def count(self, scale: float) -> int:
        return max(1, round(self.base_count * scale))

    def title(self, scale: float) -> str:
        return f"{self.id} · {self.describe(self.count(scale))}"


# --- plain data (W1-W4) -------------------------------------------------------


def _word(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_letters, k=length))


def build_records(count: int) -> list[dict[str, Any]]:
    """W1: the shape of a JSON API response."""
    rng = random.Random(SEED)
    return [
        {
            "id": rng.randrange(2**31),
            "name": _word(rng, 8),
            "score": rng.uniform(-1e6, 1e6),
            "active": rng.random() < 0.5,
            "parent": None,
            "tags": [_word(rng, 4), _word(rng, 4), _word(rng, 4)],
        }
        for _ in range(count)
    ]


def _mixed_int(rng: random.Random) -> int:
    # One bucket per pickle integer encoding: BININT1, BININT2/BININT, LONG1 up to
    # 8 bytes, and LONG1 beyond 64 bits (Python's arbitrary precision).
    bucket = rng.random()
    if bucket < 0.35:
        return rng.randrange(256)
    if bucket < 0.55:
        return rng.randrange(-(2**15), 2**15)
    if bucket < 0.75:
        return rng.randrange(-(2**31), 2**31)
    if bucket < 0.95:
        return rng.randrange(-(2**63), 2**64)
    return rng.choice((1, -1)) * rng.randrange(2**64, 2**128)


def build_ints(count: int) -> list[int]:
    """W2: ints of every magnitude, 5% above 2**64."""
    rng = random.Random(SEED)
    return [_mixed_int(rng) for _ in range(count)]


def build_floats(count: int) -> list[float]:
    """W3: floats spread over 40 decades, as Python floats in a list."""
    rng = np.random.default_rng(SEED)
    values = rng.standard_normal(count) * np.power(10.0, rng.integers(-20, 21, count))
    return values.tolist()


# Alphabets by the widest code point: pickle and CPython treat 1-, 2- and
# 4-byte strings differently, so all three kinds appear.
_LATIN1 = "àáâãäåçèéêëìíîïñòóôõöùúûüýßÆØ"
_BMP = "αβγδεζηθλμπσφψωжзийклмнщыя中文字漢語日本東京"
_ASTRAL = "😀🚀🎉🐍🌍🦀📦🔥"


def _short_str(rng: random.Random) -> str:
    length = rng.randint(1, 16)
    kind = rng.random()
    if kind < 0.6:
        return "".join(rng.choices(string.ascii_letters + string.digits + " _-", k=length))
    extra = _LATIN1 if kind < 0.75 else _LATIN1 + _BMP if kind < 0.9 else _BMP + _ASTRAL
    return "".join(rng.choices(string.ascii_lowercase + extra, k=length))


def build_strs(count: int) -> list[str]:
    """W4: short strs, 60% ASCII, the rest Latin-1, BMP and astral."""
    rng = random.Random(SEED)
    return [_short_str(rng) for _ in range(count)]


# --- objects by reference (W5, W6) -------------------------------------------


def _record_fields(rng: random.Random, index: int) -> tuple[int, float, str, bool, int | None]:
    parent = rng.randrange(index) if index and rng.random() < 0.5 else None
    return index, rng.uniform(0.0, 100.0), _word(rng, 8), rng.random() < 0.5, parent


def build_plain_objects(count: int) -> list[models.Record]:
    rng = random.Random(SEED)
    return [models.Record(*_record_fields(rng, i)) for i in range(count)]


def build_dataclasses(count: int) -> list[models.DataRecord]:
    rng = random.Random(SEED)
    return [models.DataRecord(*_record_fields(rng, i)) for i in range(count)]


def build_slot_dataclasses(count: int) -> list[models.SlotRecord]:
    rng = random.Random(SEED)
    return [models.SlotRecord(*_record_fields(rng, i)) for i in range(count)]


# --- a graph with sharing and a cycle (W7) -----------------------------------

_SHARE_PROBABILITY = 0.03  # a child slot reuses a finished subtree
_SHAREABLE_MAX_NODES = 40  # only small subtrees are shared (config-like blobs)
_POOL_LIMIT = 500


class _TreeBuilder:
    """Builds a tree of exactly ``count`` new nodes; references to shared subtrees
    are extra edges, not new nodes. Only finished subtrees are shared, so
    sharing never creates a cycle by accident."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool: list[object] = []

    def leaf(self) -> object:
        pick = self.rng.random()
        if pick < 0.4:
            return self.rng.randrange(-1000, 100000)
        if pick < 0.7:
            return _word(self.rng, self.rng.randint(3, 10))
        if pick < 0.9:
            return self.rng.random()
        if pick < 0.95:
            return None
        return pick < 0.975  # a bool

    def subtree(self, budget: int) -> object:
        if budget == 1:
            return self.leaf()
        parts = self._split(budget - 1)
        children = [self.subtree(part) for part in parts]
        children = self._with_shared_references(children)
        node: object
        if self.rng.random() < 0.5:
            node = children
        else:
            node = {f"k{i}_{_word(self.rng, 3)}": child for i, child in enumerate(children)}
        if budget <= _SHAREABLE_MAX_NODES and len(self.pool) < _POOL_LIMIT:
            self.pool.append(node)
        return node

    def _split(self, total: int) -> list[int]:
        """Split ``total`` new nodes between 1..8 children, at random."""
        fanout = min(total, self.rng.randint(1, 8))
        cuts = sorted(self.rng.sample(range(1, total), fanout - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]

    def _with_shared_references(self, children: list[object]) -> list[object]:
        if self.pool and self.rng.random() < _SHARE_PROBABILITY * len(children):
            children.insert(self.rng.randrange(len(children) + 1), self.rng.choice(self.pool))
        return children


def _close_one_cycle(root: dict[str, object]) -> None:
    """Point a container a few levels down back at the root: exactly one cycle."""
    node: object = root
    for _ in range(3):
        containers = [c for c in _children(node) if isinstance(c, dict | list)]
        if not containers:
            break
        node = containers[0]
    if isinstance(node, dict):
        node["__root__"] = root
    elif isinstance(node, list):
        node.append(root)


def _children(node: object) -> list[object]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []


def build_shared_tree(count: int) -> dict[str, object]:
    """W7: a nested dict/list tree of ``count`` nodes, shared subtrees, one cycle."""
    rng = random.Random(SEED)
    builder = _TreeBuilder(rng)
    root = {"meta": {"version": 3, "name": "tree"}, "body": builder.subtree(max(1, count - 4))}
    _close_one_cycle(root)
    return root


# --- code by value (W8, W9) ---------------------------------------------------


def build_functions(count: int) -> list[Callable[[float], object]]:
    """W8: closures from factories and lambdas; none importable by name."""
    return distinct_functions(count, SEED)


_STAGES = ("read", "parse", "clean", "scale", "join", "agg", "sum", "mean", "norm", "store")


def build_task_graph(count: int) -> dict[tuple[str, int], tuple[Any, tuple[Any, ...], dict]]:
    """W9: a Dask-style graph ``{key: (function, args, kwargs)}``.

    Half the tasks call importable functions (pickled by name), the rest one of
    40 lambdas/closures shared across tasks (as a ``map_partitions`` callable
    is), and one task in ten carries a small ndarray.
    """
    rng = random.Random(SEED)
    arrays = np.random.default_rng(SEED)
    by_value = [make_polynomial(k) for k in range(20)]
    by_value += [make_scaler(rng.uniform(0.1, 3.0), k) for k in range(20)]
    tokens = {stage: f"{rng.getrandbits(32):08x}" for stage in _STAGES}
    graph: dict[tuple[str, int], tuple[Any, tuple[Any, ...], dict]] = {}
    keys: list[tuple[str, int]] = []
    for index in range(count):
        stage = _STAGES[index % len(_STAGES)]
        key = (f"{stage}-{tokens[stage]}", index)
        graph[key] = _task(rng, arrays, keys, by_value)
        keys.append(key)
    return graph


def _task(
    rng: random.Random,
    arrays: np.random.Generator,
    earlier: list[tuple[str, int]],
    by_value: list[Callable[[float], object]],
) -> tuple[Any, tuple[Any, ...], dict]:
    def dependency() -> Any:
        return rng.choice(earlier) if earlier else rng.random()

    pick = rng.random()
    if pick < 0.1:
        return models.weighted_mean, (arrays.standard_normal(16), arrays.random(16)), {}
    if pick < 0.2:
        return operator.add, (dependency(), dependency()), {}
    if pick < 0.3:
        return operator.mul, (dependency(), rng.randint(2, 9)), {}
    if pick < 0.4:
        return math.sqrt, (dependency(),), {}
    if pick < 0.45:
        return models.inc, (dependency(),), {"step": 2.0}
    if pick < 0.5:
        parts = tuple(dependency() for _ in range(rng.randint(2, 5)))
        return models.combine, parts, {"scale": 0.5}
    return rng.choice(by_value), (dependency(),), {}


# --- buffers (W10, W11) -------------------------------------------------------


def build_array(count: int) -> np.ndarray:
    """W10: ``count`` float64 values (8 bytes each)."""
    return np.random.default_rng(SEED).random(count)


def build_frame(count: int) -> pd.DataFrame:
    """W11: int, float, category-of-str, bool and datetime64[ns] columns."""
    rng = np.random.default_rng(SEED)
    cities = [f"city-{i:03d}" for i in range(190)] + ["Zürich", "Kraków", "東京", "São Paulo"]
    start = np.datetime64("2024-01-01T00:00:00", "ns")
    offsets = rng.integers(0, 365 * 86_400 * 10**9, count).astype("timedelta64[ns]")
    return pd.DataFrame(
        {
            "id": rng.integers(0, 2**40, count, dtype=np.int64),
            "value": rng.standard_normal(count),
            "city": pd.Categorical.from_codes(rng.integers(0, len(cities), count), cities),
            "flag": rng.random(count) < 0.3,
            "when": start + offsets,
        }
    )


# --- the registry -------------------------------------------------------------


def _megabytes_of_float64(count: int) -> str:
    return f"{count * 8 / 1e6:,.0f} MB float64 array"


_NO_MSGSPEC_FUNCTIONS = {"msgspec": "functions are not data", "pickle": NOT_PICKLABLE_BY_STDLIB}

WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "W1", "W1", 100_000,
        lambda n: f"{n:,} records: dicts of int, 8-char str, float, bool, None, list of 3 strs",
        build_records, checks.assert_same_graph, cross_load=True,
    ),
    Workload(
        "W2", "W2", 1_000_000,
        lambda n: f"{n:,} ints of mixed magnitude, 5% above 2**64",
        build_ints, checks.assert_same_graph, cross_load=True,
        unsupported={"msgspec": "msgpack has no ints above 2**64"},
    ),
    Workload(
        "W3", "W3", 1_000_000, lambda n: f"{n:,} floats",
        build_floats, checks.assert_same_graph, cross_load=True,
    ),
    Workload(
        "W4", "W4", 300_000, lambda n: f"{n:,} short strs, 40% non-ASCII (Latin-1, BMP, astral)",
        build_strs, checks.assert_same_graph, cross_load=True,
    ),
    Workload(
        "W5", "W5", 50_000,
        lambda n: f"{n:,} instances of a plain class with 5 attributes",
        build_plain_objects, checks.assert_same_records, cross_load=True,
        unsupported={"msgspec": "arbitrary class instances are not msgspec types"},
    ),
    Workload(
        "W6a", "W6", 50_000, lambda n: f"{n:,} dataclass instances",
        build_dataclasses, checks.assert_same_records, cross_load=True,
        msgspec_type=list[models.DataRecord],
    ),
    Workload(
        "W6b", "W6", 50_000, lambda n: f"{n:,} dataclass instances, slots=True",
        build_slot_dataclasses, checks.assert_same_records, cross_load=True,
        msgspec_type=list[models.SlotRecord],
    ),
    Workload(
        "W7", "W7", 200_000,
        lambda n: f"nested dict/list tree of {n:,} nodes, shared subtrees, one cycle",
        build_shared_tree, checks.assert_same_graph, cross_load=True,
        unsupported={"msgspec": "msgpack cannot express sharing or cycles"},
    ),
    Workload(
        "W8", "W8", 2_000, lambda n: f"{n:,} distinct closures and lambdas, by value",
        build_functions, checks.assert_same_functions, ships_code=True,
        unsupported=_NO_MSGSPEC_FUNCTIONS,
    ),
    Workload(
        "W9", "W9", 10_000,
        lambda n: f"Dask-like task graph, {n:,} keys: importable functions, lambdas, arrays",
        build_task_graph, checks.assert_same_task_graph, ships_code=True,
        unsupported=_NO_MSGSPEC_FUNCTIONS,
    ),
    Workload(
        "W10a", "W10", 50_000_000, lambda n: f"{_megabytes_of_float64(n)}, in band",
        build_array, checks.assert_same_array, copy_reference=True,
        unsupported={"msgspec": "ndarray is not a msgspec type"},
    ),
    Workload(
        "W10b", "W10", 50_000_000,
        lambda n: f"{_megabytes_of_float64(n)}, out of band (protocol 5 buffers)",
        build_array, checks.assert_same_array, out_of_band=True,
        unsupported={"msgspec": "ndarray is not a msgspec type"},
    ),
    Workload(
        "W11", "W11", 1_000_000,
        lambda n: f"DataFrame, {n:,} rows × 5 columns (int, float, category, bool, datetime)",
        build_frame, checks.assert_same_frame,
        unsupported={"msgspec": "DataFrame is not a msgspec type"},
    ),
)


def select_workloads(groups: list[str] | None) -> list[Workload]:
    """Workloads whose group or id is listed (``W6`` selects W6a and W6b)."""
    if not groups:
        return list(WORKLOADS)
    wanted = {name.strip().upper() for name in groups}
    known = {w.group.upper() for w in WORKLOADS} | {w.id.upper() for w in WORKLOADS}
    unknown = wanted - known
    if unknown:
        raise ValueError(f"unknown workload(s): {', '.join(sorted(unknown))}")
    return [w for w in WORKLOADS if w.group.upper() in wanted or w.id.upper() in wanted]
