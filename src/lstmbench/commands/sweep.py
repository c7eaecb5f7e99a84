"""``lstmbench sweep``: run (or continue) an Optuna study of stateless vs stateful LSTMs."""

from __future__ import annotations

import argparse
import io
from typing import Any

from lstmbench.commands import add_storage_flag


def register(sub: Any) -> None:
    from lstmbench.spec import shipped_studies

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
                        f"shipped: {', '.join(sorted(shipped_studies()))})")
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
    p.add_argument("--no-confirm", dest="confirm", action="store_false",
                   help="skip the end of a search sweep that re-runs each arm's best "
                        "configuration on fresh seeds (a later sweep confirms the best then)")
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
        confirm=args.confirm,
        data=args.data,
    )
    if outcome.exit_code in (0, 1):  # not interrupted: conclude
        # Imported only now: `lstmbench sweep` starts sooner.
        from lstmbench.dashboard import save_verdict
        from lstmbench.report import render_verdict, sweep_summary

        summary = sweep_summary(args.storage, outcome.study)
        if not args.quiet:
            render_verdict(summary, console)
            console.print(f"{outcome.complete} completed, {outcome.failed} failed, "
                          f"{outcome.pruned} pruned in {outcome.wall_s:.1f} s · "
                          "`lstmbench report` for the full answer")
        text = Console(record=True, file=io.StringIO(), width=100)
        render_verdict(summary, text)
        save_verdict(args.storage, outcome.study, text.export_text())  # the dashboard's note
    return outcome.exit_code
