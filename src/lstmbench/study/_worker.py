"""One worker: join the study, queue the sweeps' next trials as it goes, and run them until
none is left (or time is up).

Runs in the sweep's own process (``--jobs 1``) or in a spawned process per core; TensorFlow is
imported only here, never in the process that shows the progress bar of several workers.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from typing import Any

from lstmbench.spec import StudySpec
from lstmbench.storage import QueueEmpty, late_trials, mask, open_storage, queue_only, quiet_optuna
from lstmbench.study._queue import top_up
from lstmbench.study._signals import Terminated, check_interrupted, interruptible
from lstmbench.study._study import make_pruner, make_sampler


def work(url: str, study_name: str, spec: StudySpec, *, index: int, heartbeat: int | None,
         deadline: float | None, jit: bool | None = None, sigint: bool | None = None) -> int:
    """Run queued trials of ``study_name`` until the queue and the plans are empty; return how many ran.

    Ctrl-C or SIGTERM stops the running trial (FAIL, queued again) and the worker: it raises
    ``KeyboardInterrupt`` (``Terminated`` for SIGTERM). ``sigint``: see ``interruptible``.
    """
    with interruptible(sigint=sigint, deadline=deadline):
        return _work(url, study_name, spec, index=index, heartbeat=heartbeat, deadline=deadline,
                     jit=jit)


def _work(url: str, study_name: str, spec: StudySpec, *, index: int, heartbeat: int | None,
          deadline: float | None, jit: bool | None) -> int:
    import optuna

    from lstmbench.study._objective import make_objective

    quiet_optuna()
    storage = open_storage(url, heartbeat=heartbeat)
    # Each worker samples with its own seed: the same seed in two workers would start both on
    # the same random configurations.
    worker_spec = dataclasses.replace(spec, seed=spec.seed + 1000 * index)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=make_sampler(worker_spec), pruner=make_pruner(spec))
    objective = make_objective(spec, jit=jit)
    queue_only(study)
    ran = 0
    while deadline is None or time.time() < deadline:
        check_interrupted()
        # Queue the next few trials of the sweeps' plans if the queue runs low (see _queue).
        if not top_up(study) and not wait_for_dead_workers(study, heartbeat, deadline):
            break
        try:
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
        except QueueEmpty:
            continue  # another worker took the last queued trial first: look again
        ran += 1
    check_interrupted()  # a signal during the last trial's bookkeeping still stops the sweep
    return ran


def wait_for_dead_workers(study: Any, heartbeat: int | None, deadline: float | None) -> bool:
    """The queue is empty: return True once a dead worker's trial has been queued again.

    Optuna fails a trial whose heartbeat is older than the grace period (3 heartbeats) when a
    worker asks for its next trial. A worker that found the queue empty would never ask, so a
    trial of a worker killed near the end would stay RUNNING until the next sweep. So: while a
    RUNNING trial's heartbeat is late (two beats missed: its worker is likely dead), wait out the
    grace period and let Optuna fail and retry it. Live workers' trials are not waited for.
    """
    import optuna

    if not heartbeat:
        return False
    waiting = (optuna.trial.TrialState.WAITING,)
    end = time.time() + 4 * heartbeat
    while time.time() < end and (deadline is None or time.time() < deadline):
        check_interrupted()
        optuna.storages.fail_stale_trials(study)  # retried trials come back WAITING
        if study.get_trials(deepcopy=False, states=waiting):
            return True
        if not late_trials(study, 2 * heartbeat):
            return False
        time.sleep(heartbeat / 2)
    return False


def spawned_work(*args: Any, **kwargs: Any) -> None:
    """Entry point of a spawned worker process: exit 130 when interrupted, 0 otherwise."""
    import sys

    from lstmbench.errors import UserError

    try:
        try:
            work(*args, **kwargs)
        finally:  # stopping: a signal from now on (the terminal's and ours) is not news
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except Terminated:
        raise SystemExit(143) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except UserError as exc:
        print(f"lstmbench worker: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:
        # A storage lost mid-sweep (server down, disk full): one line, password masked; the
        # trials completed so far are in the storage, the one running is retried via heartbeat.
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        print(f"lstmbench worker: {type(exc).__name__}: {mask(detail[0] if detail else '')}",
              file=sys.stderr)
        raise SystemExit(1) from None
