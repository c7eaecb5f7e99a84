"""One worker: join the study and run queued trials until none is left (or time is up).

Runs in the sweep's own process (``--jobs 1``) or in a spawned process per core; TensorFlow is
imported only here, never in the process that shows the progress bar of several workers.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from typing import Any

from lstmbench.spec import StudySpec
from lstmbench.study._storage import open_storage
from lstmbench.study._study import make_pruner, make_sampler


def interrupt_once(signum: int, frame: Any) -> None:
    """First SIGINT/SIGTERM: stop the running trial. Later ones: ignored, so that Optuna can
    finish writing the trial's state instead of leaving it RUNNING."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def quiet_optuna() -> None:
    import warnings

    import optuna

    # Optuna logs every failed trial with a traceback (Ctrl-C included); the sweep reports
    # failures itself, one line each, with the reason stored in the trial.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # heartbeat and TPE's group option are "experimental" in Optuna's words; we rely on both.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def work(url: str, study_name: str, spec: StudySpec, *, index: int, heartbeat: int | None,
         deadline: float | None, jit: bool = True, install_signals: bool = True) -> int:
    """Run queued trials of ``study_name`` until the queue is empty; return how many ran."""
    import optuna

    from lstmbench.study._objective import make_objective

    if install_signals:
        signal.signal(signal.SIGINT, interrupt_once)
        signal.signal(signal.SIGTERM, interrupt_once)
    quiet_optuna()
    storage = open_storage(url, heartbeat=heartbeat)
    # Each worker samples with its own seed: the same seed in two workers would start both on
    # the same random configurations.
    worker_spec = dataclasses.replace(spec, seed=spec.seed + 1000 * index)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=make_sampler(worker_spec), pruner=make_pruner(spec))
    objective = make_objective(spec, jit=jit)
    ran = 0
    waiting = (optuna.trial.TrialState.WAITING,)
    while deadline is None or time.time() < deadline:
        if not study.get_trials(deepcopy=False, states=waiting):
            break
        study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
        ran += 1
    return ran


def spawned_work(*args: Any, **kwargs: Any) -> None:
    """Entry point of a spawned worker process: exit 130 when interrupted, 0 otherwise."""
    from lstmbench.errors import UserError

    try:
        work(*args, **kwargs)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except UserError as exc:
        import sys

        print(f"lstmbench worker: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
