"""The seed-notebook study in the report: one row per variant and form, and why it works or not.

The sentences are findings of running the notebook (docs/seed-notebook.md); the numbers beside
them come from the study's own trials.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from lstmbench.report._format import accuracy
from lstmbench.report._summary import Table

NOTES: dict[str, dict[str, str]] = {
    "stateless-w10": {
        "title": "Stateless 无状态LSTM: windows of 10 of SAMPLES = 200 sequences (split as windows), "
                 "batch 11, 8 units, 15 epochs",
        "why": "Only the window that starts at step 0 holds the bit; the other 10 of 11 windows are "
               "all zeros in both classes, so no stateless model can beat the 0.545 ceiling.",
    },
    "writing-1": {
        "title": "写法1: stateful, batch 1, one timestep per train_on_batch on X_train (90, 20), "
                 "reset after each sequence",
        "why": "The state carries the first bit through all 20 steps and is reset only between "
               "sequences; the gradient never crosses a step, yet the forward state is enough.",
    },
    "writing-2": {
        "title": "写法2: written for X_train (90, 20) (\"X_train[i].shape = (20,)\", batch_size = "
                 "X_train.shape[1] = 20): one sequence's 20 steps as one batch, reset after each",
        "why": "As written it runs: the 20 steps are 20 separate samples of one batch, each from a "
               "zero state: stateless windows of 1, capped at 0.525. Run after In [91]'s "
               "X_train.reshape((1800, 1, 1)) (after-reshape), batch_size is 1 and the loop over "
               "1800 rows indexes y_train, which has 90 labels: IndexError at i = 90.",
    },
    "writing-3": {
        "title": "写法3: fit(batch_size=1, shuffle=False) with a callback resetting every 20 batches",
        "why": "As meant it is 写法1 inside fit: it learns. As written (label-bug), y_train_new[j] = "
               "y_train[i] fills only rows 0-19 (with the last sequence's label): the other 1780 "
               "labels are 0, so the model learns to answer 0 and sits at 0.5.",
    },
    "writing-4": {
        "title": "写法4: batch of 20 consecutive timesteps, reset at every batch, on 写法3's y_train_new",
        "why": "The 20 steps of a sequence sit side by side as 20 samples and the state is reset "
               "before every batch: each sample sees one step from zero — stateless windows of 1, "
               "capped at 0.525 with correct labels (as-meant); as written it also has 写法3's "
               "label bug (label-bug).",
    },
    "writing-5": {
        "title": "写法5: timesteps 2, batch 19, its own labels (y_train_4[_len] = data[i, 0]), "
                 "reset at every batch",
        "why": "The 19 overlapping pairs of a sequence are 19 samples, each from a zero state: "
               "stateless windows of 2, capped at 0.526.",
    },
}



def _median(values: list[float]) -> str:
    return f"{statistics.median(values):g}" if values else "—"


def variant_tables(rows: Sequence[dict[str, Any]], spec: dict[str, Any]) -> list[Table]:
    """Return the per-variant table and the why-table of a variant study (none otherwise)."""
    variants = spec.get("variants") or []
    if not variants:
        return []
    out = []
    for v in variants:
        form = v.get("form", "canonical")
        key = v["name"] if form == "canonical" else f"{v['name']}:{form}"
        mine = [r for r in rows if r.get("param_variant") == key]
        done = [r for r in mine if r["state"] == "COMPLETE"]
        failed = [r for r in mine if r["state"] == "FAIL"]
        if done:
            what = done[0]["config"]
        elif failed:
            what = "could not run"
        else:
            what = "not run yet"
        conv = [r for r in done if r.get("converged")]
        best = max((r["best_val_accuracy"] for r in done), default=None)
        ceiling = max((r["ceiling"] for r in done if r.get("ceiling") is not None), default=None)
        out.append((
            key, what,
            f"{len(conv)}/{len(done)}" + (f" ({len(failed)} failed)" if failed else ""),
            _median([r["convergence_epoch"] for r in conv]),
            accuracy(best), accuracy(ceiling),
            _median([round(r["epoch_ms"], 1) for r in done if r.get("epoch_ms") is not None]),
        ))
    table = Table(
        "The notebook's variants",
        ("variant:form", "what it really is", "converged", "epoch", "best", "ceiling", "ms/epoch"),
        tuple(out),
        note="No :form = canonical: the equivalent lstmbench configuration on the compiled engine; "
             "the other forms run the notebook's own loop (Keras 3 spelling, with Keras 2's "
             "hard_sigmoid as the notebook had it), compile outside the timed epochs. "
             "converged: seeds; epoch: median convergence epoch; best: best validation accuracy; "
             "ms/epoch: median over seeds of each trial's median epoch train time.",
        left=2,
    )
    names = list(dict.fromkeys(v["name"] for v in variants))
    why = Table("Why each variant works or cannot", ("variant", "what the notebook meant", "why"),
                tuple((n, NOTES[n]["title"], NOTES[n]["why"]) for n in names if n in NOTES), left=3)
    return [table, why]
