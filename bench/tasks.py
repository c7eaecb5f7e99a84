"""The built-in tasks measured: what each arm takes to solve them, beside Hochreiter & Schmidhuber.

Per task (its defaults, docs/tasks.md) and per arm, one configuration trained with K seeds side
by side (``lstmbench.trial.run_trial``, the compiled engine):

- stateful: chunks of ``T`` steps, ``B`` sequences a batch (adding: also chunks of 5 steps,
  which the value must cross without a gradient);
- stateless: the shortest window that covers the task's lag, the whole sequence, and the
  longest blind window (which must stay at its ceiling); the best of them is reported.

For each: the median epoch train time (the population's, K members), the share of seeds that
converged (score >= 0.99, the task's metric), the median epoch they converged at, and the
training sequences that took (epochs x training sequences: every epoch shows every training
sequence once, as every window of it when stateless) beside the paper's (~58,000 for
two-sequence and ~74,000 for adding at T = 100). Last, ``adding`` at T = 100: whether and how
fast a stateful LSTM solves it on this machine.

Usage: python bench/tasks.py [--replicates 4] [--tasks two-sequence,adding,temporal-order]
                             [--long-epochs 100] [--json bench/results/tasks.json]
The machine is usually shared: the load average is recorded before and after every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _common import machine, print_table
from lstmbench.spec import ModelConfig, TaskSpec, TrainSpec, TrialSpec
from lstmbench.tasks import Task

PAPER = {"two-sequence": 58_000, "adding": 74_000}  # training sequences at T = 100
# (T, B, units, epochs) of the stateful configurations, (B, units, epochs) of the stateless ones.
# adding twice: chunks of the whole sequence (T = L, the gradient sees every step) and of 5
# steps (the value must cross chunk boundaries the gradient does not)
STATEFUL = {"two-sequence": [(5, 10, 16, 20)], "adding": [(20, 10, 16, 60), (5, 10, 16, 60)],
            "temporal-order": [(5, 10, 16, 40)]}
STATELESS = {"two-sequence": (30, 16, 30), "adding": (30, 16, 60), "temporal-order": (30, 16, 40)}


def run(task: TaskSpec, model: ModelConfig, epochs: int, replicates: int) -> dict[str, Any]:
    """Train one configuration with ``replicates`` seeds; return its measures."""
    from lstmbench.trial import run_trial

    spec = TrialSpec(model=model, task=task, seed=0,
                     train=TrainSpec(epochs=epochs, replicates=replicates))
    load_before = os.getloadavg()
    start = time.perf_counter()
    r = run_trial(spec)
    wall = time.perf_counter() - start
    epochs_done = [e for e in r.member_epochs if e is not None]
    median_epoch = statistics.median(epochs_done) if epochs_done else None
    return {
        "config": (f"stateful T={model.timesteps} B={model.batch_size} U={model.units}"
                   if model.stateful else
                   f"stateless W={model.window} B={model.batch_size} U={model.units}"),
        "window": model.window, "replicates": replicates, "epochs_budget": epochs,
        "epoch_ms": r.epoch_ms, "epochs_run": r.epochs_run,
        "converged_share": r.converged_share, "member_epochs": r.member_epochs,
        "median_epoch": median_epoch,
        "sequences_to_converge": None if median_epoch is None else median_epoch * task.n_train,
        "best_score": r.best_val_accuracy, "ceiling": r.ceiling,
        "metric": r.metric, "tolerance": r.tolerance,
        "time_to_solution_s": r.time_to_solution_s if r.converged else None,
        "wall_s": wall, "load_before": load_before, "load_after": os.getloadavg(),
    }


def bench_task(kind: str, replicates: int) -> dict[str, Any]:
    task = TaskSpec(kind=kind)
    t = Task(task)
    stateful = [run(task, ModelConfig(stateful=True, timesteps=T, batch_size=B, units=U),
                    epochs, replicates) for T, B, U, epochs in STATEFUL[kind]]
    Bw, Uw, epochs_w = STATELESS[kind]
    windows = sorted({t.lag, task.seq_len, t.blind})
    stateless = [run(task, ModelConfig(stateful=False, window=W, batch_size=Bw, units=Uw),
                     epochs_w, replicates) for W in windows]
    best = max(stateless, key=lambda r: (r["converged_share"], -(r["median_epoch"] or 1e9),
                                         r["best_score"]))
    return {"task": kind, "n_sequences": task.n_sequences, "n_train": task.n_train,
            "seq_len": task.seq_len, "lag": t.lag, "blind": t.blind, "metric": t.metric,
            "paper_sequences_T100": PAPER.get(kind), "stateful": stateful[0],
            "stateful_more": stateful[1:], "stateless": stateless,
            "best_stateless_window": best["window"]}


def bench_adding_long(replicates: int, epochs: int) -> dict[str, Any]:
    """Adding at T = 100 (the paper's length), 2000 training sequences, stateful chunks of 10."""
    task = TaskSpec(kind="adding", seq_len=100, n_sequences=2000)
    out = run(task, ModelConfig(stateful=True, timesteps=10, batch_size=10, units=16), epochs,
              replicates)
    return {"task": "adding", "seq_len": 100, "n_sequences": 2000, "n_train": task.n_train,
            "paper_sequences_T100": PAPER["adding"], **out}


def flat_rows(results: list[dict[str, Any]], long: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One flat row per configuration measured (the table docs render from ``rows``)."""
    def row(task: str, arm: str, r: dict[str, Any], paper: int | None) -> dict[str, Any]:
        return {"task": task, "arm": arm, "configuration": r["config"],
                "ms_per_epoch": round(r["epoch_ms"]),
                "seeds_converged": f"{round(r['converged_share'] * r['replicates'])}/{r['replicates']}",
                "epochs_run": r["epochs_run"], "median_epoch": r["median_epoch"],
                "training_sequences": r["sequences_to_converge"],
                "best_score": round(r["best_score"], 3),
                "ceiling": None if r["ceiling"] is None else round(r["ceiling"], 3),
                "paper_sequences_T100": paper}

    rows = []
    for t in results:
        name = f"{t['task']} ({t['n_sequences']} x {t['seq_len']})"
        for f in [t["stateful"], *t["stateful_more"]]:
            rows.append(row(name, "stateful", f, t["paper_sequences_T100"]))
        for f in t["stateless"]:
            arm = "stateless" + (" (best)" if f["window"] == t["best_stateless_window"] else "")
            rows.append(row(name, arm, f, t["paper_sequences_T100"]))
    if long is not None:
        rows.append(row(f"adding ({long['n_sequences']} x {long['seq_len']})", "stateful", long,
                        long["paper_sequences_T100"]))
    return rows


def _row(kind: str, arm: str, r: dict[str, Any]) -> list[str]:
    def num(v: Any, fmt: str) -> str:
        return "—" if v is None else format(v, fmt)

    return [kind, arm, r["config"], num(r["epoch_ms"], ".0f"),
            f"{round(r['converged_share'] * r['replicates'])}/{r['replicates']}",
            num(r["median_epoch"], "g"), num(r["sequences_to_converge"], ",.0f"),
            num(r["best_score"], ".3f"), num(r["ceiling"], ".3f"),
            f"{r['load_before'][0]:.1f}-{r['load_after'][0]:.1f}"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=4)
    p.add_argument("--tasks", default="two-sequence,adding,temporal-order")
    p.add_argument("--long-epochs", type=int, default=100,
                   help="epochs of adding at T = 100 (0: skip it)")
    p.add_argument("--json", default="bench/results/tasks.json")
    args = p.parse_args()
    load_before = os.getloadavg()
    results = [bench_task(kind, args.replicates) for kind in args.tasks.split(",") if kind]
    long = bench_adding_long(args.replicates, args.long_epochs) if args.long_epochs else None
    rows = []
    for r in results:
        rows += [_row(r["task"], "stateful", f) for f in [r["stateful"], *r["stateful_more"]]]
        rows += [_row(r["task"], "stateless" + (" (best)" if s["window"] == r["best_stateless_window"]
                                                else ""), s) for s in r["stateless"]]
    if long is not None:
        rows.append(_row("adding T=100", "stateful", long))
    print_table(f"built-in tasks, K = {args.replicates} seeds per configuration",
                ["task", "arm", "configuration", "ms/epoch", "converged", "median epoch",
                 "sequences", "best score", "ceiling", "load"], rows)
    for r in results:
        if r["paper_sequences_T100"]:
            print(f"{r['task']}: Hochreiter & Schmidhuber's LSTM needed ~{r['paper_sequences_T100']:,} "
                  f"training sequences at T = 100; here L = {r['seq_len']}.")
    out = {"machine": machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
           "rows": flat_rows(results, long), "tasks": results, "adding_T100": long}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
