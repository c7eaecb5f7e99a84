"""One study's answer as a frozen summary: computed once from trial rows, rendered many ways.

``summarize`` is pure: rows in (``trial_rows``), numbers out, so a test can build rows by hand
and check every number and the exact rendered text. ``load_summary`` adds what only the Optuna
study knows (parameter importances) and reads the rows from storage.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lstmbench.report._stats import Estimate, TestResult, fisher, mann_whitney, median, share
from lstmbench.report._verdict import verdict_text

ARMS = ("stateful", "stateless")
STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass(frozen=True)
class BestTrial:
    """The best trial of an arm: converged with the least training time, else the most accurate."""

    number: int
    config: str
    converged: bool
    convergence_epoch: int | None
    best_val_accuracy: float
    train_ms: float | None  # training time to converge (the objective, in ms), converged only
    ceiling: float | None
    val_accuracy: tuple[float, ...]  # the learning curve, one value per epoch


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    states: dict[str, int]  # trials of this arm by state
    converged: int
    converged_share: Estimate  # of completed trials, Wilson interval
    epochs_to_converge: Estimate  # converged trials, bootstrap interval of the median
    train_ms_to_converge: Estimate  # training ms to converge (compile excluded): the objective
    wall_s_to_converge: Estimate  # compile + train + evaluation s to convergence (time_to_converge_s)
    epoch_ms: Estimate  # median epoch train time, every completed trial
    best: BestTrial | None

    @property
    def complete(self) -> int:
        return self.states.get("COMPLETE", 0)


@dataclass(frozen=True)
class WindowRow:
    """Stateless trials of one window length: the best they measured beside what is reachable."""

    seq_len: int
    window: int
    trials: int
    converged: int
    best_accuracy: float
    ceiling: float | None  # best accuracy any stateless model can reach with this window


@dataclass(frozen=True)
class StatefulCell:
    """Stateful trials of one (timesteps, batch size): how many converged and how fast."""

    seq_len: int
    timesteps: int
    batch_size: int
    trials: int
    converged: int
    median_epoch: float | None


@dataclass(frozen=True)
class EpochTime:
    """Epoch train times of one arm and batch size (ms): median, range and the points themselves."""

    arm: str
    batch_size: int
    trials: int
    median_ms: float
    min_ms: float
    max_ms: float


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
    tests: tuple[TestResult, ...]
    verdict: str
    windows: tuple[WindowRow, ...]
    stateful_cells: tuple[StatefulCell, ...]
    epoch_times: tuple[EpochTime, ...]
    epoch_points: tuple[tuple[str, int, float], ...]  # (arm, batch size, epoch ms) per trial
    importances: tuple[Importances, ...]
    environment: tuple[tuple[str, str], ...]
    extra: tuple[Table, ...] = field(default=())  # sections of other study kinds, in order
    importances_skipped: bool = False  # not computed (they load scikit-learn: seconds)

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
    arms = tuple(_arm(arm, [r for r in rows if r.get("arm") == arm])
                 for arm in _arms(rows, spec))
    by = {a.arm: a for a in arms}
    tests = _tests(rows, by)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    return Summary(
        study=study,
        storage=storage,
        description=spec.get("description", ""),
        target=target,
        states=_states(rows),
        arms=arms,
        tests=tests,
        verdict=verdict_text(by, tests, done),
        windows=_windows(done),
        stateful_cells=_stateful_cells(done),
        epoch_times=_epoch_times(done),
        epoch_points=tuple((r["arm"], r["batch_size"], r["epoch_ms"]) for r in done
                           if r.get("epoch_ms") is not None and r.get("batch_size") is not None),
        importances=tuple(importances),
        environment=tuple(environment if environment is not None else _environment(done)),
        extra=tuple(extra),
        importances_skipped=importances_skipped,
    )


def _arms(rows: Sequence[dict[str, Any]], spec: dict[str, Any]) -> list[str]:
    named = list(spec.get("space", {}).get("arms", ())) if not spec.get("variants") else []
    seen = {r.get("arm") for r in rows if r.get("arm")}
    return [a for a in ARMS if a in seen or a in named] + sorted(seen - set(ARMS))


def _states(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["state"] for r in rows)
    return {s: counts[s] for s in (*STATES, *sorted(set(counts) - set(STATES))) if counts[s]}


def _arm(arm: str, rows: list[dict[str, Any]]) -> ArmSummary:
    done = [r for r in rows if r["state"] == "COMPLETE"]
    conv = [r for r in done if r.get("converged")]
    return ArmSummary(
        arm=arm,
        states=_states(rows),
        converged=len(conv),
        converged_share=share(len(conv), len(done)),
        epochs_to_converge=median([r["convergence_epoch"] for r in conv]),
        train_ms_to_converge=median([r["value"] * 1e3 for r in conv if r.get("value") is not None]),
        wall_s_to_converge=median([r["time_to_converge_s"] for r in conv]),
        epoch_ms=median([r["epoch_ms"] for r in done if r.get("epoch_ms") is not None]),
        best=_best(done),
    )


def _best(done: list[dict[str, Any]]) -> BestTrial | None:
    conv = [r for r in done if r.get("converged") and r.get("value") is not None]
    if conv:
        r = min(conv, key=lambda r: (r["value"], r["number"]))
    elif done:
        r = max(done, key=lambda r: (r.get("best_val_accuracy") or 0.0, -r["number"]))
    else:
        return None
    return BestTrial(
        number=r["number"], config=r.get("config", "?"), converged=bool(r.get("converged")),
        convergence_epoch=r.get("convergence_epoch"),
        best_val_accuracy=float(r.get("best_val_accuracy") or 0.0),
        train_ms=r["value"] * 1e3 if r.get("converged") else None, ceiling=r.get("ceiling"),
        val_accuracy=tuple(r.get("val_accuracy") or ()),
    )


def _tests(rows: Sequence[dict[str, Any]], by: dict[str, ArmSummary]) -> tuple[TestResult, ...]:
    a, b = by.get("stateful"), by.get("stateless")
    if a is None or b is None:
        return ()

    def values(arm: str, key: str, converged_only: bool) -> list[float]:
        scale = 1e3 if key == "value" else 1.0  # the objective is in seconds, shown in ms
        return [r[key] * scale for r in rows if r.get("arm") == arm and r["state"] == "COMPLETE"
                and r.get(key) is not None and (r.get("converged") or not converged_only)]

    return (
        fisher(a.converged, a.complete, b.converged, b.complete),
        mann_whitney(values("stateful", "value", True), values("stateless", "value", True),
                     "training time to converge"),
        mann_whitney(values("stateful", "epoch_ms", False), values("stateless", "epoch_ms", False),
                     "epoch time"),
    )


def _windows(done: list[dict[str, Any]]) -> tuple[WindowRow, ...]:
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in done:
        if r.get("arm") == "stateless" and r.get("window") is not None:
            groups.setdefault((r["seq_len"], r["window"]), []).append(r)
    out = []
    for (L, W), rs in sorted(groups.items()):
        ceilings = [r["ceiling"] for r in rs if r.get("ceiling") is not None]
        out.append(WindowRow(
            seq_len=L, window=W, trials=len(rs), converged=sum(bool(r.get("converged")) for r in rs),
            best_accuracy=max(float(r.get("best_val_accuracy") or 0.0) for r in rs),
            ceiling=max(ceilings) if ceilings else None,
        ))
    return tuple(out)


def _stateful_cells(done: list[dict[str, Any]]) -> tuple[StatefulCell, ...]:
    groups: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
    for r in done:
        if r.get("arm") == "stateful" and r.get("timesteps") is not None:
            groups.setdefault((r["seq_len"], r["timesteps"], r["batch_size"]), []).append(r)
    out = []
    for (L, T, B), rs in sorted(groups.items()):
        epochs = [r["convergence_epoch"] for r in rs if r.get("converged")]
        out.append(StatefulCell(L, T, B, len(rs), len(epochs),
                                statistics.median(epochs) if epochs else None))
    return tuple(out)


def _epoch_times(done: list[dict[str, Any]]) -> tuple[EpochTime, ...]:
    groups: dict[tuple[str, int], list[float]] = {}
    for r in done:
        if r.get("epoch_ms") is not None and r.get("batch_size") is not None and r.get("arm"):
            groups.setdefault((r["arm"], r["batch_size"]), []).append(float(r["epoch_ms"]))
    order = {a: i for i, a in enumerate(ARMS)}
    return tuple(
        EpochTime(arm, B, len(ms), statistics.median(ms), min(ms), max(ms))
        for (arm, B), ms in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0]))
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

