"""What the benchmarks share: summaries with spread, machine metadata, a printed table."""

from __future__ import annotations

import os
import statistics
from typing import Any


def summary(values: list[float]) -> dict[str, float]:
    """Median with its spread: min, max, interquartile range, count."""
    v = sorted(values)
    q = statistics.quantiles(v, n=4) if len(v) >= 2 else [v[0], v[0], v[0]]
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "q1": q[0], "q3": q[2],
            "n": len(v)}


def machine() -> dict[str, Any]:
    """What every trial records about its machine (``lstmbench.trial.versions``: CPU, cores,
    Python / TensorFlow / Keras versions), plus the benchmark's thread and XLA settings."""
    import optuna

    from lstmbench.trial import versions

    return {**versions(), "optuna": optuna.__version__,
            "lstmbench_threads": os.environ.get("LSTMBENCH_THREADS", "1 (default)"),
            "xla_flags": os.environ.get("XLA_FLAGS", "")}


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
