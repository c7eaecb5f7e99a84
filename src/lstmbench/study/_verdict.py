"""The few lines a sweep ends with: the report's per-arm numbers and verdict, in short.

The numbers come from ``lstmbench.report.summarize`` — the same summary ``lstmbench report``
renders — so the sweep's last lines and the report never disagree.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from lstmbench.report import Summary, summarize, trial_rows


def sweep_summary(study: Any) -> Summary:
    """Return the report summary of ``study`` (no parameter importances: they load scikit-learn)."""
    from lstmbench.study._study import SPEC

    return summarize(trial_rows(study), study=study.study_name,
                     spec=study.user_attrs.get(SPEC) or {}, importances_skipped=True)


def print_verdict(summary: Summary, console: Console) -> None:
    table = Table(title="verdict", title_justify="left")
    for col in ("arm", "trials", "converged", "median epoch", "median time to converge", "best config"):
        table.add_column(col, justify="left" if col in ("arm", "best config") else "right")
    for a in summary.arms:
        epoch, wall = a.epochs_to_converge.value, a.wall_s_to_converge.value
        table.add_row(
            a.arm, str(a.complete), f"{a.converged} ({a.converged / a.complete:.0%})" if a.complete
            else "0",
            "—" if epoch is None else f"{epoch:g}",
            "—" if wall is None else f"{wall:.2f} s",
            a.best.config if a.best is not None and a.best.converged else "—",
        )
    console.print(table)
    console.print(summary.verdict, highlight=False)
