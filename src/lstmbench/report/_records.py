"""Trials of a study as plain rows: params, user attributes, state. Never imports TensorFlow."""

from __future__ import annotations

import json
from typing import Any

from lstmbench.spec import describe_config
from lstmbench.storage import read_trials

RESULT_COLUMNS = (
    "arm", "variant", "form", "converged", "convergence_epoch", "best_val_accuracy",
    "final_val_accuracy", "ceiling", "epochs_run", "epoch_ms", "eval_ms", "compile_s",
    "time_to_converge_s", "total_s", "n_params", "n_updates", "engine", "jit", "seed",
    "fail_reason",
)


# The user attributes the rows are made of: a study of 10,000 trials is read in seconds when
# the others (loss curves, per-epoch times of every trial) stay in the storage.
ROW_ATTRS = (*RESULT_COLUMNS, "spec", "val_accuracy", "train_ms", "versions")


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """Return one dict per trial: number, state, value, ``param_*``, result attributes, config."""
    rows = []
    for t in read_trials(study, ROW_ATTRS):
        attrs = t.user_attrs
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
                       seq_len=spec["task"]["seq_len"])
        row["val_accuracy"] = attrs.get("val_accuracy")
        row["train_ms"] = attrs.get("train_ms")
        row["versions"] = attrs.get("versions")
        rows.append(row)
    return rows


def csv_rows(study: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Return (columns, rows) for ``trials.csv``: one row per trial, named as Optuna's own
    ``trials_dataframe`` names them (``params_*``, ``user_attrs_*``); lists and dicts as JSON."""
    rows = []
    params: set[str] = set()
    attrs: set[str] = set()
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value if t.values else None,
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
            "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
            "config": describe_config(t.user_attrs.get("spec")),
        }
        for key, value in t.params.items():
            row[f"params_{key}"] = value
            params.add(key)
        for key, value in t.user_attrs.items():
            row[f"user_attrs_{key}"] = (json.dumps(value, sort_keys=True)
                                        if isinstance(value, (list, dict)) else value)
            attrs.add(key)
        rows.append(row)
    columns = ["number", "state", "value", "datetime_start", "datetime_complete", "config"]
    columns += [f"params_{k}" for k in sorted(params)] + [f"user_attrs_{k}" for k in sorted(attrs)]
    return columns, rows
