"""``lstmbench report``: stateless or stateful, under which settings, at what cost."""

from __future__ import annotations

import argparse
from typing import Any

from lstmbench.commands import add_storage_flag


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="the answer of a study: verdict, tests, tables (and Markdown/HTML/CSV/plots with --out)",
        description="Report on a study lstmbench wrote: per-arm convergence and cost with 95 %% "
        "intervals, tests between the arms, a verdict. Never creates or changes the database.",
    )
    p.add_argument("--study", default=None,
                   help="study name; 'all' for every lstmbench study (default: the only one)")
    add_storage_flag(p)
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write report.md, report.html, trials.csv and plots/ into DIR")
    p.add_argument("--importances", action="store_true",
                   help="also compute parameter importances for the terminal (always with --out; "
                        "Optuna's fANOVA loads scikit-learn: a few seconds)")
    p.add_argument("--json", action="store_true",
                   help="print the summary as one JSON object per study (arms, configurations, "
                        "exact tests with their assumptions; 'p' is the primary test's, "
                        "'min_attainable_p' the smallest its blind configurations allow)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lstmbench.report import run_report

    run_report(study=args.study, storage=args.storage, out=args.out,
               with_importances=True if args.importances else None, as_json=args.json)
    return 0
