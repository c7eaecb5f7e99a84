"""One study's answer as a frozen summary: computed once from trial rows, rendered many ways.

``summarize`` is pure: rows in (``trial_rows``), numbers out, so a test can build rows by hand
and check every number and the exact rendered text. ``load_summary`` adds what only the Optuna
study knows (parameter importances) and reads the rows from storage.

A trial trains K members (seeds) of one configuration. An arm's convergence probability is the
mean, over the configurations drawn before any result was seen, of the share of their seeds
that converged: the chance that a configuration drawn from the arm's space, trained from a
random seed, converges (see ``_compare`` for why only those configurations, ``_stats`` for its
interval). Confirmation trials (a chosen configuration re-run on fresh seeds) are left out of
every number but their own table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lstmbench.report._compare import blind_rows, compare
from lstmbench.report._exact import TestResult
from lstmbench.report._groups import (
    ARMS,
    ConfigRow,
    EpochTime,
    StatefulCell,
    WindowRow,
    configurations,
    converged_members,
    covers_lag,
    epoch_times,
    member_epochs,
    members,
    run_seconds,
    stateful_cells,
    tts,
    windows,
)
from lstmbench.report._stats import (
    Estimate,
    Interval,
    clustered_share,
    difference,
    median,
    pooled_ratio,
)
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
    converged_share: Estimate  # P(converge): mean share over blind configurations (n of them)
    epochs_to_converge: Estimate  # median over converged members
    time_to_solution_s: Estimate  # median per completed trial; inf ("never") where none converged
    never: int  # completed trials where no member converged
    pooled_time_to_solution_s: Estimate  # blind configurations: training seconds / converged seeds
    wall_s_to_converge: Estimate  # compile + train + eval s to convergence, trials that converged
    epoch_ms: Estimate  # median epoch train time (the whole population's), every completed trial
    best: BestTrial | None

    @property
    def complete(self) -> int:
        return self.states.get("COMPLETE", 0)


@dataclass(frozen=True)
class Region:
    """One arm's blind configurations whose windows do, or do not, cover the task's lag."""

    arm: str
    covers_lag: bool
    windows: tuple[int, ...]  # the window lengths drawn in this region
    converged_share: Estimate  # as the arm's: mean share over its blind configurations
    members: int  # seeds of those configurations
    converged: int


@dataclass(frozen=True)
class Confirmation:
    """A configuration the search chose, re-run on fresh seeds, beside the search's own trial."""

    arm: str
    config: str
    number: int  # the confirmation trial
    confirms: int | None  # the search's trial it re-runs
    members: int
    converged: int
    converged_share: Estimate  # of its seeds
    time_to_solution_s: float | None  # pooled over its seeds; None: none converged
    search_time_to_solution_s: float | None  # the confirmed trial's; None: none converged or absent
    search_members: int | None
    search_converged: int | None


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
    difference: Interval = Interval(None, None, None)  # P(converge), first arm minus second
    regions: tuple[Region, ...] = ()
    confirmations: tuple[Confirmation, ...] = ()
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
    checks = [r for r in rows if r.get("confirmation")]
    states = _states(rows)
    rows = [r for r in rows if not r.get("confirmation")]
    arms = tuple(_arm(arm, rows) for arm in _arms(rows, spec))
    tests = compare(rows, arms[0].arm, arms[1].arm) if len(arms) >= 2 else ()
    done = [r for r in rows if r["state"] == "COMPLETE"]
    window_rows = windows(done)
    gap = (difference(arms[0].converged_share, arms[1].converged_share) if len(arms) >= 2
           else Interval(None, None, None))
    regions = _regions(rows)
    confirmations = _confirmations(checks, rows)
    return Summary(
        study=study,
        storage=storage,
        description=spec.get("description", ""),
        target=target,
        states=states,
        arms=arms,
        tests=tests,
        verdict=verdict_text(arms, tests, window_rows, gap, regions, confirmations),
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
        difference=gap,
        regions=regions,
        confirmations=confirmations,
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
    blind = blind_rows(rows, arm)
    return ArmSummary(
        arm=arm,
        states=_states(mine),
        members=sum(members(r) for r in done),
        converged=sum(converged_members(r) for r in done),
        converged_share=clustered_share([(converged_members(r), members(r)) for r in blind]),
        epochs_to_converge=median([e for r in done for e in member_epochs(r)]),
        time_to_solution_s=median([tts(r) for r in done]),
        never=len(done) - len(conv),
        pooled_time_to_solution_s=pooled_ratio([run_seconds(r) for r in blind],
                                               [converged_members(r) for r in blind]),
        wall_s_to_converge=median([r.get("time_to_converge_s") for r in conv]),
        epoch_ms=median([r["epoch_ms"] for r in done if r.get("epoch_ms") is not None]),
        best=_best(done),
    )


def _regions(rows: Sequence[dict[str, Any]]) -> tuple[Region, ...]:
    """Return the P(converge) of the blind configurations whose windows cover the task's lag and
    of those whose windows do not, per arm that has windows (none where the lag is unknown)."""
    out = []
    for arm in sorted({r.get("arm") for r in rows if covers_lag(r) is not None}):
        blind = blind_rows(rows, arm)
        for covers in (False, True):
            mine = [r for r in blind if covers_lag(r) is covers]
            out.append(Region(
                arm=arm, covers_lag=covers, windows=tuple(sorted({r["window"] for r in mine})),
                converged_share=clustered_share([(converged_members(r), members(r))
                                                 for r in mine]),
                members=sum(members(r) for r in mine),
                converged=sum(converged_members(r) for r in mine)))
    return tuple(out)


def _confirmations(checks: Sequence[dict[str, Any]],
                   rows: Sequence[dict[str, Any]]) -> tuple[Confirmation, ...]:
    """Return each completed confirmation trial beside the search's trial it confirms."""
    by_number = {r["number"]: r for r in rows}
    out = []
    for r in sorted(checks, key=lambda r: r["number"]):
        if r["state"] != "COMPLETE":
            continue
        found = by_number.get(r.get("confirms"))
        found = found if found is not None and found["state"] == "COMPLETE" else None
        solution = tts(r)
        search = tts(found) if found is not None else math.inf
        out.append(Confirmation(
            arm=r.get("arm") or "?", config=r.get("config") or "?", number=r["number"],
            confirms=r.get("confirms"), members=members(r), converged=converged_members(r),
            converged_share=clustered_share([(converged_members(r), members(r))],
                                            alike_as_members=True),
            time_to_solution_s=solution if math.isfinite(solution) else None,
            search_time_to_solution_s=search if math.isfinite(search) else None,
            search_members=None if found is None else members(found),
            search_converged=None if found is None else converged_members(found)))
    return tuple(out)


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
    # The trials of a study mostly share one environment: each distinct one is looked at once.
    environments = Counter(tuple((r.get("versions") or {}).items()) for r in done)
    keys = list(dict.fromkeys(k for versions in environments for k, _ in versions))
    out = []
    for key in keys:
        counts: Counter[str] = Counter()
        for versions, n in environments.items():
            counts[str(dict(versions).get(key, "?"))] += n
        out.append((key, _tally(counts)))
    if not any(k == "cpu" for k in keys):
        out.append(("cpu", "not recorded by the trials"))
    engines = (f"{r.get('engine')} (XLA {'on' if r.get('jit') else 'off'})" for r in done
               if r.get("engine"))
    out.append(("engine", _tally(engines) or "?"))
    return out


def _tally(values: Any) -> str:
    """One value, or each with its count, the most common first (``values``: or a Counter)."""
    counts = Counter(values)
    if len(counts) <= 1:
        return next(iter(counts), "")
    return ", ".join(f"{v} ({n} trials)" for v, n in counts.most_common())

