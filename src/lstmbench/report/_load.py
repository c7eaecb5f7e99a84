"""From a stored study to its summary: the one place where a study becomes a Summary."""

from __future__ import annotations

import dataclasses
from typing import Any

from lstmbench.report._records import curves, trial_rows
from lstmbench.report._summary import Importances, Summary, summarize
from lstmbench.report._variants import variant_tables
from lstmbench.storage import SPEC, find_studies, mask, storage_url

MIN_IMPORTANCE_TRIALS = 4  # fANOVA on fewer completed trials of an arm says nothing



def load_summary(rdb: Any, name: str, *, storage: str = "",
                 with_importances: bool = True) -> tuple[Summary, Any]:
    """Return (summary, Optuna study) of the lstmbench study ``name`` in storage ``rdb``."""
    import optuna

    study = optuna.load_study(study_name=name, storage=rdb)
    return study_summary(study, storage=storage, with_importances=with_importances), study


def sweep_summary(storage: str | None, name: str) -> Summary:
    """Return the summary a sweep ends with (no importances: they load scikit-learn)."""
    rdb, _ = find_studies(storage, name)
    return load_summary(rdb, name, storage=mask(storage_url(storage)), with_importances=False)[0]


def study_summary(study: Any, *, storage: str = "", with_importances: bool = True) -> Summary:
    """Return the summary of an lstmbench Optuna ``study``.

    ``with_importances=False`` leaves out Optuna's importances (they load scikit-learn).
    """
    name = study.study_name
    rows = trial_rows(study)
    spec = study.user_attrs.get(SPEC) or {}
    variants = bool(spec.get("variants"))
    summary = summarize(rows, study=name, storage=storage, spec=spec,
                        importances=importances(study, rows) if with_importances and not variants
                        else (),
                        importances_skipped=not with_importances and not variants,
                        extra=variant_tables(rows, spec))
    return with_curves(summary, study)


def with_curves(summary: Summary, study: Any) -> Summary:
    """Return ``summary`` with the learning curves of its best trials, read for those alone
    (every trial's curve would be a tenth of what a report of 10,000 trials reads)."""
    numbers = {a.best.number for a in summary.arms if a.best is not None}
    if not numbers:
        return summary
    found = curves(study, numbers)
    return dataclasses.replace(summary, arms=tuple(
        a if a.best is None else dataclasses.replace(
            a, best=dataclasses.replace(a.best, val_accuracy=found.get(a.best.number, ())))
        for a in summary.arms))


def importances(study: Any, rows: list[dict[str, Any]]) -> list[Importances]:
    """Return Optuna's (fANOVA, seeded) parameter importances for each arm's objective.

    The arms have different parameters (window only for stateless, timesteps only for
    stateful), so each arm is evaluated on its own completed trials; too few trials, or no
    parameter that varies, gives a note instead of numbers.
    """
    import optuna

    arm_of = {r["number"]: r.get("arm") for r in rows}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    out = []
    for arm in sorted({a for a in arm_of.values() if a}, key=lambda a: (a != "stateful", a)):
        trials = [t for t in complete if arm_of.get(t.number) == arm]
        out.append(_arm_importances(arm, trials))
    return out


def _arm_importances(arm: str, trials: list[Any]) -> Importances:
    if len(trials) < MIN_IMPORTANCE_TRIALS:
        return Importances(arm, len(trials), note=f"not enough trials ({len(trials)} completed; "
                                                  f"needs {MIN_IMPORTANCE_TRIALS})")
    names = set.intersection(*(set(t.params) for t in trials)) - {"arm"}
    varying = sorted(n for n in names if len({repr(t.params[n]) for t in trials}) > 1)
    if not varying:
        return Importances(arm, len(trials), note="no parameter varies between its trials")
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    sub = optuna.create_study(direction="minimize")
    sub.add_trials(trials)
    try:
        values = get_param_importances(sub, evaluator=FanovaImportanceEvaluator(seed=0),
                                       params=varying)
    except (ValueError, RuntimeError) as exc:
        return Importances(arm, len(trials), note=f"could not be computed: {exc}")
    return Importances(arm, len(trials), tuple((k, float(v)) for k, v in values.items()))
