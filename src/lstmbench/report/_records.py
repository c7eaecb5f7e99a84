"""Trials of a study as plain rows: params, user attributes, state. Never imports TensorFlow."""

from __future__ import annotations

from typing import Any

import pandas as pd

RESULT_COLUMNS = (
    "arm", "variant", "form", "converged", "convergence_epoch", "best_val_accuracy",
    "final_val_accuracy", "ceiling", "epochs_run", "epoch_ms", "eval_ms", "compile_s",
    "time_to_converge_s", "total_s", "n_params", "n_updates", "engine", "jit", "seed",
    "fail_reason",
)


def describe_config(spec: dict[str, Any] | None) -> str:
    """Return e.g. ``stateful T=1 B=10 U=8`` (``L=...`` added when seq_len is not 20)."""
    if not spec:
        return "?"
    m = spec["model"]
    text = (f"stateful T={m['timesteps']} B={m['batch_size']} U={m['units']}" if m["stateful"]
            else f"stateless W={m['window']} B={m['batch_size']} U={m['units']}")
    L = spec.get("task", {}).get("seq_len", 20)
    return text if L == 20 else f"{text} L={L}"


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """Return one dict per trial: number, state, value, ``param_*``, result attributes, config."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value if t.values else None,
        }
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
        rows.append(row)
    return rows


def trials_frame(study: Any) -> pd.DataFrame:
    return pd.DataFrame(trial_rows(study))
