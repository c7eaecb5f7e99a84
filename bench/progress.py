"""What naming long-running trials adds to a sweep's progress poll: next to nothing.

The sweep's progress reads every trial of the study from the storage twice a second (Optuna's
``get_trials``) and already had to; naming the trials that train for long is one pass over
what that read returned (state, start time, last intermediate value, the spec's epochs). Here:
a study of ``--trials`` finished trials and ``--running`` running ones in SQLite, the read
timed against the pass, each the median of ``--repeat``.

Usage: python bench/progress.py [--trials 2000] [--running 16] [--json bench/results/progress.json]
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine, print_table


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls of ``run``, and what the last one returned."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--running", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default="bench/results/progress.json")
    args = parser.parse_args()
    import optuna
    from rich.console import Console

    from lstmbench.study._progress import Progress

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = {"train": {"epochs": 20}, "model": {"stateful": True, "timesteps": 1, "batch_size": 1,
                                               "units": 8, "window": None}}
    dist = optuna.distributions.CategoricalDistribution(["stateful", "stateless"])
    with tempfile.TemporaryDirectory(prefix="lstmbench-bench-progress-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'progress.db'}"
        study = optuna.create_study(study_name="progress", storage=url)
        study.add_trials([optuna.trial.create_trial(
            params={"arm": "stateful"}, distributions={"arm": dist}, value=1.0,
            user_attrs={"spec": spec, "arm": "stateful"},
            intermediate_values={e: 0.5 for e in range(1, 21)}) for _ in range(args.trials)])
        for _ in range(args.running):
            trial = study.ask({"arm": dist})
            trial.set_user_attr("spec", spec)
            trial.report(0.5, 8)
        progress = Progress(study, frozenset(), total=args.trials, quiet=False,
                            console=Console(file=io.StringIO()))
        progress._long_s = 0.0  # every running trial is long: the pass does all its work

        read_s, trials = timed(lambda: study.get_trials(deepcopy=False), args.repeat)
        pass_s, named = timed(lambda: progress._long_trials(trials), args.repeat)
    assert len(named) == args.running, named
    row = {"trials": args.trials, "running": args.running, "read_s": read_s, "long_pass_s": pass_s,
           "share": pass_s / read_s, "loadavg": os.getloadavg()}
    print(json.dumps(row), file=sys.stderr)
    print_table("A progress poll: the storage read and the long-trials pass (median seconds)",
                ["trials", "running", "read (get_trials)", "long-trials pass", "pass / read", "load"],
                [[f"{args.trials:,}", str(args.running), f"{read_s:.3f}", f"{pass_s * 1e3:.2f} ms",
                  f"{row['share']:.2%}", f"{row['loadavg'][0]:.1f}"]])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"machine": machine(), "rows": [row],
                                           "at": datetime.datetime.now().isoformat()}, indent=2))


if __name__ == "__main__":
    main()
