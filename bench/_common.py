"""What the benchmarks share: summaries with spread, machine metadata, a printed table."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from typing import Any


def summary(values: list[float]) -> dict[str, float]:
    """Median with its spread: min, max, interquartile range, count."""
    v = sorted(values)
    q = statistics.quantiles(v, n=4) if len(v) >= 2 else [v[0], v[0], v[0]]
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "q1": q[0], "q3": q[2],
            "n": len(v)}


def machine() -> dict[str, Any]:
    """CPU, cores, Python / TensorFlow / Keras versions, thread and XLA settings."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "lstmbench_threads": os.environ.get("LSTMBENCH_THREADS", "1 (default)"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        info["lscpu"] = lscpu.splitlines()[:20]
        info["cpu_model"] = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                                  if line.startswith("Model name")), platform.processor())
    except OSError:
        info["cpu_model"] = platform.processor()
    try:
        import keras
        import tensorflow as tf

        info["tensorflow"], info["keras"] = tf.__version__, keras.__version__
    except ImportError:
        pass
    return info


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A rich table when rich is there, plain columns otherwise."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        print(title)
        for row in [header, *rows]:
            print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))
        return
    table = Table(title=title)
    for h in header:
        table.add_column(h, justify="right")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)
