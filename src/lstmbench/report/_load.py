"""From a storage URL to the studies lstmbench wrote there, and from a study to its summary."""

from __future__ import annotations

from typing import Any

from lstmbench.errors import UserError
from lstmbench.report._records import trial_rows
from lstmbench.report._summary import Importances, Summary, summarize
from lstmbench.report._variants import variant_tables

MIN_IMPORTANCE_TRIALS = 4  # fANOVA on fewer completed trials of an arm says nothing


def find_studies(storage: str | None, study: str | None) -> tuple[Any, list[str]]:
    """Return (Optuna storage, names of the lstmbench studies to report on).

    ``study`` None picks the only lstmbench study in the storage; ``"all"`` takes every one.
    Never creates a database: a missing SQLite file is refused with a message.
    """
    import optuna

    from lstmbench.study._storage import mask, open_storage, storage_url
    from lstmbench.study._study import SPEC_HASH

    url = storage_url(storage)
    rdb = open_storage(url, heartbeat=None, must_exist=True)
    summaries = optuna.get_all_study_summaries(rdb, include_best_trial=False)
    where = mask(url)
    ours = [s for s in summaries if SPEC_HASH in s.user_attrs]
    if not summaries:
        raise UserError(f"{where} holds no studies yet: run `lstmbench sweep` first", exit_code=1)
    if study not in (None, "all") and study not in {s.study_name for s in ours}:
        what = ("was not made by lstmbench" if study in {s.study_name for s in summaries}
                else "does not exist")
        there = (f"lstmbench studies there:\n{_listing(ours)}" if ours
                 else "it holds no lstmbench study")
        raise UserError(f"study {study!r} {what} in {where}; {there}", exit_code=1)
    if not ours:
        names = ", ".join(s.study_name for s in summaries[:5])
        raise UserError(f"{where} holds {len(summaries)} Optuna stud"
                        f"{'y' if len(summaries) == 1 else 'ies'} ({names}) but none made by "
                        "lstmbench: give --storage URL of an lstmbench database", exit_code=1)
    if study == "all":
        return rdb, [s.study_name for s in ours]
    if study is not None:
        return rdb, [study]
    if len(ours) == 1:
        return rdb, [ours[0].study_name]
    raise UserError(f"{where} holds {len(ours)} lstmbench studies: choose one with --study NAME, "
                    f"or every one with --study all:\n{_listing(ours)}", exit_code=2)


def _listing(summaries: list[Any]) -> str:
    return "\n".join(f"  {s.study_name:<24} {s.n_trials:>5} trials"
                     + (f"  since {s.datetime_start:%Y-%m-%d %H:%M}" if s.datetime_start else "")
                     for s in summaries)


def load_summary(rdb: Any, name: str, *, storage: str = "",
                 with_importances: bool = True) -> tuple[Summary, Any]:
    """Return (summary, Optuna study) of the lstmbench study ``name`` in storage ``rdb``.

    ``with_importances=False`` leaves out Optuna's importances (they load scikit-learn).
    """
    import optuna

    from lstmbench.study._study import SPEC

    study = optuna.load_study(study_name=name, storage=rdb)
    rows = trial_rows(study)
    spec = study.user_attrs.get(SPEC) or {}
    variants = bool(spec.get("variants"))
    summary = summarize(rows, study=name, storage=storage, spec=spec,
                        importances=importances(study, rows) if with_importances and not variants
                        else (),
                        importances_skipped=not with_importances and not variants,
                        extra=variant_tables(rows, spec))
    return summary, study


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
