"""Trial rows grouped for the report's tables: by configuration, window, stateful cell, batch size.

A trial trains K members (seeds) of one configuration; counts of "converged" here are members.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lstmbench.measures import time_to_solution
from lstmbench.report._stats import Estimate, clustered_share

ARMS = ("stateful", "stateless")


def members(r: dict[str, Any]) -> int:
    """Members (seeds) the trial trained."""
    return int(r.get("replicates") or 1)


def converged_members(r: dict[str, Any]) -> int:
    return round(float(r.get("converged_share") or 0.0) * members(r))


def member_epochs(r: dict[str, Any]) -> list[int]:
    """Convergence epochs of the members that converged."""
    return [e for e in r.get("member_epochs") or () if e is not None]


def tts(r: dict[str, Any]) -> float:
    """The trial's time to solution (seconds); inf when no member converged."""
    value = r.get("time_to_solution_s")
    return math.inf if value is None or not converged_members(r) else float(value)


def member_runs(r: dict[str, Any]) -> tuple[list[float | None], list[float]]:
    """Return (each member's training seconds to convergence, None where it did not converge;
    each member's whole run in seconds: the trial's training time over its members)."""
    K = members(r)
    whole = sum(r.get("train_ms") or ()) / 1e3 / K
    trained = list(r.get("member_train_s") or [None] * K)
    return trained, [whole] * len(trained)


def run_seconds(r: dict[str, Any]) -> float:
    """Return the training seconds the trial's members ran: to convergence, or the whole run."""
    trained, budget = member_runs(r)
    return math.fsum(b if s is None else s for s, b in zip(trained, budget))


def lag(r: dict[str, Any]) -> int | None:
    """Return how many steps before a sequence's end its target's information lies (None:
    unknown): the one place the report learns a task's lag. A row of a stored trial carries its
    task's (``lstmbench.tasks``; None for a file that does not say); rows without one are
    first-bit's, whose label is step 0: the whole sequence."""
    if "lag" in r:
        return r["lag"]
    return r.get("seq_len")


def covers_lag(r: dict[str, Any]) -> bool | None:
    """Whether every window of a stateless trial holds the steps its target depends on (None:
    not a stateless trial, or the lag is unknown)."""
    stateless = r.get("stateful") is False or (r.get("stateful") is None
                                              and r.get("arm") == "stateless")
    if not stateless or r.get("window") is None or lag(r) is None:
        return None
    return r["window"] >= lag(r)


@dataclass(frozen=True)
class ConfigRow:
    """Every member of one configuration, over the trials that ran it."""

    arm: str
    config: str
    trials: int
    members: int
    converged: int
    share: Estimate  # converged members / members; the trials are the clusters (n: trials)
    median_epoch: float | None  # over converged members
    min_epoch: int | None
    max_epoch: int | None
    time_to_solution_s: float  # pooled over the members; inf when none converged


@dataclass(frozen=True)
class WindowRow:
    """Stateless trials of one window length: the best they measured beside what is reachable."""

    seq_len: int
    window: int
    trials: int
    members: int
    converged: int  # members
    best_accuracy: float
    ceiling: float | None  # best accuracy any stateless model can reach with this window
    lag: int | None = None  # the task's lag (None: unknown): a window of >= lag steps sees it
    task: str | None = None  # the task's name, or its file's (None: a study from before tasks)

    @property
    def covers_lag(self) -> bool:
        """Whether the window holds every step its task's target depends on (unknown lag: the
        whole sequence)."""
        return self.window >= (self.lag or self.seq_len)


@dataclass(frozen=True)
class StatefulCell:
    """Stateful trials of one (timesteps, batch size): how many members converged and how fast."""

    seq_len: int
    timesteps: int
    batch_size: int
    trials: int
    members: int
    converged: int  # members
    median_epoch: float | None  # over converged members


@dataclass(frozen=True)
class EpochTime:
    """Epoch train times of one arm and batch size (ms): median, range and the points themselves."""

    arm: str
    batch_size: int
    trials: int
    median_ms: float
    min_ms: float
    max_ms: float


def configurations(done: Sequence[dict[str, Any]]) -> tuple[ConfigRow, ...]:
    """One row per (arm, configuration); within an arm, the most reliable and fastest first."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in done:
        groups.setdefault((r.get("arm") or "?", r.get("config") or "?"), []).append(r)
    rows = [_config_row(arm, config, rs) for (arm, config), rs in groups.items()]
    order = {a: i for i, a in enumerate(ARMS)}
    return tuple(sorted(rows, key=lambda c: (order.get(c.arm, 9), c.arm, -(c.share.value or 0.0),
                                             c.time_to_solution_s, c.config)))


def _config_row(arm: str, config: str, rs: list[dict[str, Any]]) -> ConfigRow:
    n = sum(members(r) for r in rs)
    k = sum(converged_members(r) for r in rs)
    epochs = [e for r in rs for e in member_epochs(r)]
    seconds: list[float | None] = []
    budget: list[float] = []
    for r in rs:  # each member: its seconds to convergence, or its share of the whole run
        trained, whole = member_runs(r)
        seconds += trained
        budget += whole
    share = clustered_share([(converged_members(r), members(r)) for r in rs], pooled=True,
                            alike_as_members=True)
    return ConfigRow(
        arm=arm, config=config, trials=len(rs), members=n, converged=k, share=share,
        median_epoch=statistics.median(epochs) if epochs else None,
        min_epoch=min(epochs, default=None), max_epoch=max(epochs, default=None),
        time_to_solution_s=time_to_solution(seconds, budget) if seconds else math.inf,
    )


def windows(done: Sequence[dict[str, Any]]) -> tuple[WindowRow, ...]:
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in done:
        if r.get("arm") == "stateless" and r.get("window") is not None:
            groups.setdefault((r["seq_len"], r["window"]), []).append(r)
    out = []
    for (L, W), rs in sorted(groups.items()):
        ceilings = [r["ceiling"] for r in rs if r.get("ceiling") is not None]
        out.append(WindowRow(
            seq_len=L, window=W, trials=len(rs), members=sum(members(r) for r in rs),
            converged=sum(converged_members(r) for r in rs),
            best_accuracy=max(float(r.get("best_val_accuracy") or 0.0) for r in rs),
            ceiling=max(ceilings) if ceilings else None,
            lag=rs[0].get("lag"), task=rs[0].get("task"),
        ))
    return tuple(out)


def stateful_cells(done: Sequence[dict[str, Any]]) -> tuple[StatefulCell, ...]:
    groups: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
    for r in done:
        if r.get("arm") == "stateful" and r.get("timesteps") is not None:
            groups.setdefault((r["seq_len"], r["timesteps"], r["batch_size"]), []).append(r)
    out = []
    for (L, T, B), rs in sorted(groups.items()):
        epochs = [e for r in rs for e in member_epochs(r)]
        out.append(StatefulCell(L, T, B, len(rs), sum(members(r) for r in rs),
                                sum(converged_members(r) for r in rs),
                                statistics.median(epochs) if epochs else None))
    return tuple(out)


def epoch_times(done: Sequence[dict[str, Any]]) -> tuple[EpochTime, ...]:
    groups: dict[tuple[str, int], list[float]] = {}
    for r in done:
        if r.get("epoch_ms") is not None and r.get("batch_size") is not None and r.get("arm"):
            groups.setdefault((r["arm"], r["batch_size"]), []).append(float(r["epoch_ms"]))
    order = {a: i for i, a in enumerate(ARMS)}
    return tuple(
        EpochTime(arm, B, len(ms), statistics.median(ms), min(ms), max(ms))
        for (arm, B), ms in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0]))
    )
