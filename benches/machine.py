"""What the numbers were measured on: machine, interpreter, library versions."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import oxpickle
import pandas as pd

from benches.libraries import Library


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _total_memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return None


def _usable_cpus() -> int:
    # The affinity mask is what this process may run on (containers, taskset).
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _oxpickle_build() -> str:
    """Which extension file ran: a stale debug build would explain odd numbers."""
    extension = getattr(oxpickle, "_oxpickle", None)
    path = Path(getattr(extension, "__file__", "") or oxpickle.__file__)
    return f"{path.name} ({path.stat().st_size / 1e6:.1f} MB)" if path.exists() else "unknown"


def load_average() -> float | None:
    """1-minute load average: other work on the machine makes timings noisy."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def describe_machine(libraries: list[Library]) -> dict[str, Any]:
    memory = _total_memory_gb()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": _usable_cpus(),
        "load_average_1min": load_average(),
        "cpu": _cpu_model(),
        "memory": f"{memory:.1f} GB" if memory else "unknown",
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "libraries": {lib.name: lib.version for lib in libraries},
        "oxpickle_extension": _oxpickle_build(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
