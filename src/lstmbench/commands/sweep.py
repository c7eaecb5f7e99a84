"""``lstmbench sweep``: run (or continue) an Optuna study of stateless vs stateful LSTMs."""

from __future__ import annotations

import argparse
from typing import Any

from lstmbench.commands import add_storage_flag


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="run an Optuna study over stateless and stateful LSTMs (default: 50 trials)",
        description="Run N more trials of a study into a storage (default sqlite:///lstmbench.db). "
        "Running again continues the same study.",
    )
    p.add_argument("--trials", type=int, default=None,
                   help="trials to add (default: 50; a variant study: every variant x seed not yet run;"
                        " 0: only what an interrupted run left queued)")
    p.add_argument("--spec", default=None,
                   help="study spec: a TOML file or a shipped study name (default: default; "
                        "shipped: default, seed-notebook, memory-horizon, two-sequence, adding, "
                        "temporal-order, lag-horizon, a-vs-a)")
    p.add_argument("--study", default=None,
                   help="study name (default: the spec's name; with --data, the file's)")
    p.add_argument("--data", default=None, metavar="FILE.npz",
                   help="your own sequences in place of the spec's task: x (N, L) or (N, L, F), "
                        "y (N,) classes or floats, optionally x_val, y_val, lag (docs/tasks.md)")
    add_storage_flag(p)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop S seconds after the start: a trial still training then stops at its "
                        "next epoch and is queued again; the rest stay queued for --trials 0")
    p.add_argument("--seed", type=int, default=None, help="sampler seed (default: the spec's)")
    p.add_argument("--heartbeat", type=int, default=None,
                   help="seconds between worker heartbeats; a worker silent for 3x is declared dead "
                        "and its trial retried (default: 30; 0: off)")
    p.add_argument("--storage-patience", type=float, default=None, metavar="S",
                   help="seconds to wait for a storage lost mid-sweep before stopping (default: "
                        "$LSTMBENCH_STORAGE_PATIENCE, else 60); completed trials are kept")
    p.add_argument("--quiet", action="store_true", help="no progress, no verdict")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from lstmbench.spec import load_study_spec
    from lstmbench.storage import DEFAULT_HEARTBEAT
    from lstmbench.study import run_sweep

    trials = args.trials
    if trials is None and not load_study_spec(args.spec).variants:
        trials = 50
    console = Console()
    outcome = run_sweep(
        trials=trials, spec=args.spec, study=args.study, storage=args.storage, jobs=args.jobs,
        timeout=args.timeout, seed=args.seed,
        heartbeat=DEFAULT_HEARTBEAT if args.heartbeat is None else args.heartbeat,
        quiet=args.quiet, console=console, storage_patience=args.storage_patience,
        data=args.data,
    )
    if not args.quiet and outcome.exit_code in (0, 1):  # not interrupted: conclude
        # Imported only now: the workers start sooner (run_sweep spawns them first thing).
        from lstmbench.report import render_verdict, sweep_summary

        render_verdict(sweep_summary(args.storage, outcome.study), console)
        console.print(f"{outcome.complete} completed, {outcome.failed} failed, "
                      f"{outcome.pruned} pruned in {outcome.wall_s:.1f} s · "
                      "`lstmbench report` for the full answer")
    return outcome.exit_code
