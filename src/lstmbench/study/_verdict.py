"""The few lines a sweep ends with: per arm, how often and how fast it converged."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class ArmVerdict:
    arm: str
    trials: int  # completed trials
    converged: int
    median_epoch: float | None  # of the converged trials
    median_time_s: float | None  # time to converge (wall, compile included), converged trials
    best_config: str | None  # the converged trial with the lowest objective
    best_value: float | None

    @property
    def share(self) -> float:
        return self.converged / self.trials if self.trials else 0.0


def arm_verdicts(rows: list[dict[str, Any]]) -> list[ArmVerdict]:
    """Return one verdict per arm from completed trials (``report.trial_rows``)."""
    out = []
    arms = sorted({r["arm"] for r in rows if r["arm"]})
    for arm in arms:
        done = [r for r in rows if r["arm"] == arm and r["state"] == "COMPLETE"]
        conv = [r for r in done if r["converged"]]
        best = min(conv, key=lambda r: r["value"]) if conv else None
        out.append(ArmVerdict(
            arm=arm,
            trials=len(done),
            converged=len(conv),
            median_epoch=statistics.median(r["convergence_epoch"] for r in conv) if conv else None,
            median_time_s=statistics.median(r["time_to_converge_s"] for r in conv) if conv else None,
            best_config=best["config"] if best else None,
            best_value=best["value"] if best else None,
        ))
    return out


def verdict_sentence(verdicts: list[ArmVerdict]) -> str:
    by_arm = {v.arm: v for v in verdicts}
    sf, sl = by_arm.get("stateful"), by_arm.get("stateless")
    if not sf or not sl or not sf.trials or not sl.trials:
        return "Only one arm has completed trials so far: no comparison yet."
    if sf.share > sl.share:
        lead = (f"Stateful converged in {sf.converged}/{sf.trials} trials, stateless in "
                f"{sl.converged}/{sl.trials}")
        if sl.converged:
            lead += " (a stateless window must span the whole sequence to see the first bit)"
        return lead + "."
    return (f"Stateless converged in {sl.converged}/{sl.trials} trials, stateful in "
            f"{sf.converged}/{sf.trials}.")


def print_verdict(verdicts: list[ArmVerdict], console: Console) -> None:
    table = Table(title="verdict", title_justify="left")
    for col in ("arm", "trials", "converged", "median epoch", "median time to converge", "best config"):
        table.add_column(col, justify="left" if col in ("arm", "best config") else "right")
    for v in verdicts:
        table.add_row(
            v.arm, str(v.trials), f"{v.converged} ({v.share:.0%})",
            "—" if v.median_epoch is None else f"{v.median_epoch:g}",
            "—" if v.median_time_s is None else f"{v.median_time_s:.2f} s",
            v.best_config or "—",
        )
    console.print(table)
    console.print(verdict_sentence(verdicts))
