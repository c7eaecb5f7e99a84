"""One study's answer as a frozen summary: computed once from trial rows, rendered many ways.

``summarize`` is pure: rows in (``trial_rows``), numbers out, so a test can build rows by hand
and check every number and the exact rendered text. ``load_summary`` adds what only the Optuna
study knows (parameter importances) and reads the rows from storage.

A trial trains K members (seeds) of one configuration. An arm's convergence probability is the
mean, over the configurations chosen before any result was seen, of the share of their seeds
that converged: the chance that a configuration drawn from the arm's space, trained from a
random seed, converges (see ``_compare`` for why only those configurations).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lstmbench.report._compare import blind_rows, compare
from lstmbench.report._groups import (
    ARMS,
    ConfigRow,
    EpochTime,
    StatefulCell,
    WindowRow,
    configurations,
    converged_members,
    epoch_times,
    member_epochs,
    members,
    stateful_cells,
    tts,
    windows,
)
from lstmbench.report._stats import Estimate, TestResult, mean_share, median
from lstmbench.report._task import task_line
from lstmbench.report._verdict import verdict_text

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass(frozen=True)
class BestTrial:
    """The best trial of an arm: the least time to solution, else the most accurate."""

    number: int
    config: str
    converged: bool  # some member converged
    replicates: int
    converged_members: int
    convergence_epoch: int | None  # the trial's (median over its converged members)
    best_val_accuracy: float
    time_to_solution_s: float | None  # None: no member converged
    ceiling: float | None
    val_accuracy: tuple[float, ...]  # the learning curve (mean over members), one value per epoch


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    states: dict[str, int]  # trials of this arm by state
    members: int  # seeds trained by its completed trials
    converged: int  # of those, seeds that converged
    converged_share: Estimate  # P(converge): mean share over blind configurations, bootstrap CI
    epochs_to_converge: Estimate  # converged members, bootstrap interval of the median
    time_to_solution_s: Estimate  # per trial, where some member converged: median
    wall_s_to_converge: Estimate  # compile + train + eval s to convergence (time_to_converge_s)
    epoch_ms: Estimate  # median epoch train time (the whole population's), every completed trial
    best: BestTrial | None

    @property
    def complete(self) -> int:
        return self.states.get("COMPLETE", 0)


@dataclass(frozen=True)
class Importances:
    """Optuna's parameter importances for one arm's objective, or why there are none."""

    arm: str
    trials: int
    values: tuple[tuple[str, float], ...] = ()
    note: str = ""  # e.g. "not enough trials (3 completed; needs 4)"


@dataclass(frozen=True)
class Table:
    """A generic table for sections a study kind adds (e.g. one row per variant)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    left: int = 1  # leading columns of words, aligned left in the terminal; the rest right


@dataclass(frozen=True)
class Summary:
    study: str
    storage: str  # password masked
    description: str
    target: float | None  # validation accuracy that counts as converged
    states: dict[str, int]  # every trial of the study by state
    arms: tuple[ArmSummary, ...]
    tests: tuple[TestResult, ...]  # the first arm against the second; the primary test first
    verdict: str
    configurations: tuple[ConfigRow, ...]
    windows: tuple[WindowRow, ...]
    stateful_cells: tuple[StatefulCell, ...]
    epoch_times: tuple[EpochTime, ...]
    epoch_points: tuple[tuple[str, int, float], ...]  # (arm, batch size, epoch ms) per trial
    importances: tuple[Importances, ...]
    environment: tuple[tuple[str, str], ...]
    extra: tuple[Table, ...] = field(default=())  # sections of other study kinds, in order
    importances_skipped: bool = False  # not computed (they load scikit-learn: seconds)
    task: str = ""  # the task or the user's file, and how validation is scored (report._task)

    @property
    def trials(self) -> int:
        return sum(self.states.values())

    def arm(self, name: str) -> ArmSummary | None:
        """Return the summary of arm ``name`` (None when the study has no such arm)."""
        return next((a for a in self.arms if a.arm == name), None)


def summarize(rows: Sequence[dict[str, Any]], *, study: str, storage: str = "",
              spec: dict[str, Any] | None = None,
              importances: Sequence[Importances] = (),
              environment: Sequence[tuple[str, str]] | None = None,
              extra: Sequence[Table] = (), importances_skipped: bool = False) -> Summary:
    """Return the summary of a study's trial rows (``trial_rows``); pure, deterministic."""
    spec = spec or {}
    target = spec.get("train", {}).get("target")
    arms = tuple(_arm(arm, rows) for arm in _arms(rows, spec))
    tests = compare(rows, arms[0].arm, arms[1].arm) if len(arms) >= 2 else ()
    done = [r for r in rows if r["state"] == "COMPLETE"]
    window_rows = windows(done)
    return Summary(
        study=study,
        storage=storage,
        description=spec.get("description", ""),
        target=target,
        states=_states(rows),
        arms=arms,
        tests=tests,
        verdict=verdict_text(arms, tests, window_rows),
        configurations=configurations(done),
        windows=window_rows,
        stateful_cells=stateful_cells(done),
        epoch_times=epoch_times(done),
        epoch_points=tuple((r["arm"], r["batch_size"], r["epoch_ms"]) for r in done
                           if r.get("epoch_ms") is not None and r.get("batch_size") is not None),
        importances=tuple(importances),
        environment=tuple(environment if environment is not None else _environment(done)),
        extra=tuple(extra),
        importances_skipped=importances_skipped,
        task=task_line(spec),
    )


def _arms(rows: Sequence[dict[str, Any]], spec: dict[str, Any]) -> list[str]:
    named = list(spec.get("space", {}).get("arms", ())) if not spec.get("variants") else []
    seen = {r.get("arm") for r in rows if r.get("arm")}
    return [a for a in ARMS if a in seen or a in named] + sorted(seen - set(ARMS))


def _states(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["state"] for r in rows)
    return {s: counts[s] for s in (*STATES, *sorted(set(counts) - set(STATES))) if counts[s]}


def _arm(arm: str, rows: Sequence[dict[str, Any]]) -> ArmSummary:
    mine = [r for r in rows if r.get("arm") == arm]
    done = [r for r in mine if r["state"] == "COMPLETE"]
    conv = [r for r in done if converged_members(r)]
    return ArmSummary(
        arm=arm,
        states=_states(mine),
        members=sum(members(r) for r in done),
        converged=sum(converged_members(r) for r in done),
        converged_share=mean_share([converged_members(r) / members(r)
                                    for r in blind_rows(rows, arm)]),
        epochs_to_converge=median([e for r in done for e in member_epochs(r)]),
        time_to_solution_s=median([tts(r) for r in conv]),
        wall_s_to_converge=median([r.get("time_to_converge_s") for r in conv]),
        epoch_ms=median([r["epoch_ms"] for r in done if r.get("epoch_ms") is not None]),
        best=_best(done),
    )


def _best(done: list[dict[str, Any]]) -> BestTrial | None:
    conv = [r for r in done if converged_members(r)]
    if conv:
        r = min(conv, key=lambda r: (tts(r), -converged_members(r) / members(r), r["number"]))
    elif done:
        r = max(done, key=lambda r: (r.get("best_val_accuracy") or 0.0, -r["number"]))
    else:
        return None
    solution = tts(r)
    return BestTrial(
        number=r["number"], config=r.get("config", "?"), converged=bool(converged_members(r)),
        replicates=members(r), converged_members=converged_members(r),
        convergence_epoch=r.get("convergence_epoch"),
        best_val_accuracy=float(r.get("best_val_accuracy") or 0.0),
        time_to_solution_s=solution if math.isfinite(solution) else None, ceiling=r.get("ceiling"),
        val_accuracy=tuple(r.get("val_accuracy") or ()),
    )


def _environment(done: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return (name, value) pairs; a value that differs between trials lists each with its count."""
    keys: list[str] = []
    for r in done:
        keys += [k for k in (r.get("versions") or {}) if k not in keys]
    out = []
    for key in keys:
        out.append((key, _tally(str((r.get("versions") or {}).get(key, "?")) for r in done)))
    if not any(k == "cpu" for k in keys):
        out.append(("cpu", "not recorded by the trials"))
    engines = (f"{r.get('engine')} (XLA {'on' if r.get('jit') else 'off'})" for r in done
               if r.get("engine"))
    out.append(("engine", _tally(engines) or "?"))
    return out


def _tally(values: Any) -> str:
    counts = Counter(values)
    if len(counts) <= 1:
        return next(iter(counts), "")
    return ", ".join(f"{v} ({n} trials)" for v, n in counts.most_common())

