"""Trials per second a storage sustains as workers are added: SQLite and a real PostgreSQL.

What limits a cluster that shares one study is the storage, not the training: every trial
takes the queue's lock, pops a trial, writes its configuration, a heartbeat, one value per
epoch and its result. Here W worker processes (1, 2, 4, 8, 16) do exactly that with lstmbench's
own machinery (``open_storage``: busy timeout, ``BEGIN IMMEDIATE``, heartbeat; the sweep's plan
and ``top_up``; the queue-only ``ask``) around an objective that does not train:

- ``bare``: the trial only takes its arm (the queue and Optuna's ask / tell alone);
- ``trial``: the storage writes of a real trial of the default study, without training:
  4 attributes at the start, ``--epochs`` reported values, 26 result attributes at the end.

Each point runs ``--seconds`` from a common start (imports excluded) and counts trials
completed. The PostgreSQL server is a throwaway one on this machine (``initdb`` in a temporary
folder, fsync off), like the tests'. On 2 cores, 16 workers also compete with the server for
the CPU: read the upper rows as what the storage does under CPU contention.

Usage: python bench/storage.py [--workers 1 2 4 8 16] [--kinds bare trial] [--seconds 8]
                               [--repeat 1] [--postgres-url URL] [--json bench/results/storage.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, print_table, summary
from _postgres import postgres

SPEC = """\
description = "storage benchmark"
[task]
n_sequences = 24
seq_len = 4
[space]
timesteps = [1, 2]
stateful_batch_size = [5]
stateless_batch_size = [10]
units = [4]
"""
RESULT = {f"result_{i}": 0.5 for i in range(22)} | {"val_accuracy": [0.5] * 30,
                                                      "train_loss": [0.7] * 30,
                                                      "val_loss": [0.7] * 30, "train_ms": [1.0] * 30}


def worker(url: str, name: str, kind: str, epochs: int, start_at: float, seconds: float,
           out: object) -> None:
    """Run trials of study ``name`` from ``start_at`` for ``seconds``; put how many completed into ``out``."""
    import optuna

    from lstmbench.storage import QueueEmpty, open_storage, queue_only, quiet_optuna
    from lstmbench.study._queue import top_up

    quiet_optuna()
    study = optuna.load_study(study_name=name, storage=open_storage(url, heartbeat=30))
    queue_only(study)

    def objective(trial: optuna.Trial) -> float:
        trial.suggest_categorical("arm", ["stateful", "stateless"])
        if kind == "trial":
            for key in ("arm", "spec", "seed", "worker"):
                trial.set_user_attr(key, key)
            for epoch in range(1, epochs + 1):
                trial.report(0.5, epoch)
            for key, value in RESULT.items():
                trial.set_user_attr(key, value)
        return 1.0

    time.sleep(max(0.0, start_at - time.time()))
    done, end = 0, start_at + seconds
    while time.time() < end:
        top_up(study)
        try:
            study.optimize(objective, n_trials=1)
        except QueueEmpty:
            continue
        done += 1
    out.put(done)  # type: ignore[attr-defined]


def point(url: str, workers: int, kind: str, epochs: int, seconds: float) -> float:
    """Trials per second of ``workers`` processes on a fresh study in ``url``."""
    from lstmbench.spec import load_study_spec
    from lstmbench.storage import open_storage, quiet_optuna
    from lstmbench.study._queue import queue_trials
    from lstmbench.study._study import create_or_join

    quiet_optuna()
    with tempfile.TemporaryDirectory() as folder:
        spec_path = Path(folder) / "bench.toml"
        spec_path.write_text(SPEC)
        spec = load_study_spec(str(spec_path))
    name = f"bench-{workers}-{kind}-{time.time_ns()}"
    study = create_or_join(open_storage(url, heartbeat=30), name, spec)
    queue_trials(study, spec, 10_000_000)  # a plan the workers never finish
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 4 + 0.5 * workers  # every worker imported and connected by then
    procs = [ctx.Process(target=worker, args=(url, name, kind, epochs, start_at, seconds, out))
             for _ in range(workers)]
    for p in procs:
        p.start()
    counts = [out.get(timeout=start_at - time.time() + seconds + 300) for _ in procs]
    for p in procs:
        p.join(60)
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--kinds", nargs="+", default=["bare", "trial"], choices=["bare", "trial"])
    parser.add_argument("--epochs", type=int, default=30, help="reported values per 'trial'")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--storages", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default=None,
                        help="a PostgreSQL database to measure (default: a throwaway local server)")
    parser.add_argument("--json", default="bench/results/storage.json")
    args = parser.parse_args()
    rows = []
    server = contextlib.nullcontext(args.postgres_url) if args.postgres_url else postgres()
    with tempfile.TemporaryDirectory(prefix="lstmbench-bench-storage-") as folder, server as pg:
        urls = {"sqlite": f"sqlite:///{folder}/bench.db", "postgresql": pg}
        for storage in args.storages:
            for kind in args.kinds:
                for workers in args.workers:
                    rates = [point(urls[storage], workers, kind, args.epochs, args.seconds)
                             for _ in range(args.repeat)]
                    rows.append({"storage": storage, "kind": kind, "workers": workers,
                                 "trials_per_s": summary(rates)})
                    print(json.dumps(rows[-1]), file=sys.stderr)
    header = ["storage", "objective", *[f"{w} workers" for w in args.workers]]
    table = []
    for storage in args.storages:
        for kind in args.kinds:
            rates = {r["workers"]: r["trials_per_s"]["median"] for r in rows
                     if r["storage"] == storage and r["kind"] == kind}
            table.append([storage, kind, *[f"{rates[w]:.0f}" for w in args.workers]])
    print_table(f"trials per second, {args.seconds:g} s per point (median of {args.repeat})",
                header, table)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"machine": machine(), "seconds": args.seconds,
                                           "epochs": args.epochs, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
