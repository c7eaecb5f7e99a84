"""Trials of a study as plain rows: params, user attributes, state. Never imports TensorFlow."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from lstmbench.report._task import task_fields
from lstmbench.spec import describe_config
from lstmbench.storage import FORMAT_KEY, read_trials, upgraded

if TYPE_CHECKING:
    import pandas as pd

# The result attributes a row carries: those the report reads, and no more. Every attribute
# read costs a row of the storage per trial (10,000 trials: ~10,000 rows and ~10 ms each); the
# others (loss curves, compile and evaluation times, parameter counts) stay in the storage,
# and ``trials.csv`` (``trials_frame``) has them all.
RESULT_COLUMNS = (
    "arm", "converged", "convergence_epoch", "best_val_accuracy", "ceiling", "epoch_ms",
    "time_to_converge_s", "engine", "jit", "replicates", "converged_share", "member_epochs",
    "member_train_s", "time_to_solution_s", "chosen_blind", "train_ms", "versions",
    "confirmation", "confirms",  # a chosen configuration re-run on fresh seeds, and which trial
)
CURVE = "val_accuracy"  # read for the trials the report shows a learning curve of: ``curves``

# The user attributes the rows are made of: the results, the trial's spec, its result format.
ROW_ATTRS = (*RESULT_COLUMNS, "spec", FORMAT_KEY)


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """Return one dict per trial: number, state, value, ``param_*``, result attributes, config."""
    rows = []
    for t in read_trials(study, ROW_ATTRS):
        attrs = t.user_attrs
        if "spec" in attrs and "converged" in attrs:  # a recorded result: read it as it is now
            attrs = upgraded(attrs, f"trial {t.number} of study {study.study_name!r}")
        row: dict[str, Any] = {"number": t.number, "state": t.state, "value": t.value}
        for key, value in t.params.items():
            row[f"param_{key}"] = value
        for key in RESULT_COLUMNS:
            row[key] = attrs.get(key)
        row["arm"] = attrs.get("arm") or t.params.get("arm")
        spec = attrs.get("spec")
        row["config"] = describe_config(spec)
        if spec:
            m = spec["model"]
            row.update(stateful=m["stateful"], window=m["window"], timesteps=m["timesteps"],
                       batch_size=m["batch_size"], units=m["units"],
                       seq_len=spec["task"]["seq_len"], **task_fields(spec))
        rows.append(row)
    return rows


def curves(study: Any, numbers: Collection[int]) -> dict[int, tuple[float, ...]]:
    """Return the learning curve (validation accuracy per epoch) of each trial numbered."""
    return {t.number: tuple(t.user_attrs.get(CURVE) or ())
            for t in read_trials(study, (CURVE,), numbers=numbers)}


def trials_frame(study: Any) -> pd.DataFrame:
    """Return every trial as a row of ``trials.csv``: Optuna's own ``trials_dataframe`` columns
    (``params_*``, ``user_attrs_*``), the configuration label, lists and dicts as JSON."""
    frame = study.trials_dataframe(attrs=("number", "state", "value", "datetime_start",
                                          "datetime_complete", "params", "user_attrs"))
    if study.metric_names:  # Optuna names the value's column after the objective, if named
        frame = frame.rename(columns={f"value_{study.metric_names[0]}": "value"})
    if frame.empty:
        return frame
    specs = frame["user_attrs_spec"] if "user_attrs_spec" in frame else [None] * len(frame)
    frame["config"] = [describe_config(s if isinstance(s, dict) else None) for s in specs]
    for column in frame.columns[frame.dtypes.map(lambda t: t.kind == "O")]:
        frame[column] = frame[column].map(
            lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v)
    first = ["number", "state", "value", "datetime_start", "datetime_complete", "config"]
    rest = sorted(c for c in frame.columns if c.startswith("params_"))
    rest += sorted(c for c in frame.columns if c.startswith("user_attrs_"))
    return frame[first + rest].convert_dtypes()  # integer parameters stay integers beside gaps
