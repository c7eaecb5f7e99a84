"""One worker: join the study, queue the sweeps' next trials as it goes, and run them until
none is left (or time is up).

Runs in the sweep's own process (``--jobs 1``) or in a spawned process per core; TensorFlow is
imported only here, never in the process that shows the progress bar of several workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import signal
import sys
import time
from typing import Any

from lstmbench.spec import StudySpec
from lstmbench.storage import (
    DEFAULT_PATIENCE,
    FULL_EXIT,
    LOST_EXIT,
    Patience,
    QueueEmpty,
    StorageFull,
    StorageLost,
    TrialCutOff,
    TrialHalted,
    full_detail,
    is_full,
    is_outage,
    late_trials,
    mask,
    named_if_full,
    open_storage,
    put_back,
    queue_only,
    queued_params,
    quiet_optuna,
    stored_state,
)
from lstmbench.study._queue import retry_attrs, top_up
from lstmbench.study._signals import Terminated, check_interrupted, interruptible
from lstmbench.study._study import make_pruner, make_sampler


def work(url: str, study_name: str, spec: StudySpec, *, index: int, heartbeat: int | None,
         deadline: float | None, sigint: bool | None = None,
         patience: float = DEFAULT_PATIENCE) -> int:
    """Run queued trials of ``study_name`` until the queue and the plans are empty; return how many ran.

    Ctrl-C or SIGTERM stops the running trial (FAIL, queued again) and the worker: it raises
    ``KeyboardInterrupt`` (``Terminated`` for SIGTERM). ``sigint``: see ``interruptible``.
    A storage unreachable for longer than ``patience`` seconds raises ``StorageLost``.
    """
    with interruptible(sigint=sigint, deadline=deadline):
        return _work(url, study_name, spec, index=index, heartbeat=heartbeat, deadline=deadline,
                     patience=patience)


def _work(url: str, study_name: str, spec: StudySpec, *, index: int, heartbeat: int | None,
          deadline: float | None, patience: float) -> int:
    import optuna

    from lstmbench.study._objective import make_objective

    quiet_optuna()
    storage = open_storage(url, heartbeat=heartbeat)
    # Each worker samples with its own seed: the same seed in two workers would start both on
    # the same random configurations.
    worker_spec = dataclasses.replace(spec, seed=spec.seed + 1000 * index)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=make_sampler(worker_spec), pruner=make_pruner(spec))
    objective = make_objective(spec)
    queue_only(study)
    # Storage calls wait out an outage (silently: the sweep's progress says it, once).
    guard = Patience(patience, check=check_interrupted)
    ran = 0
    with named_if_full(url, study_name):  # not waited for: one line, the trial queued again
        while deadline is None or time.time() < deadline:
            check_interrupted()
            # Queue the next few trials of the sweeps' plans if the queue runs low (see _queue).
            if not guard.run(lambda: top_up(study)) and not guard.run(
                    lambda: wait_for_dead_workers(study, heartbeat, deadline)):
                break
            ran += _run_one(study, objective, guard)
    check_interrupted()  # a signal during the last trial's bookkeeping still stops the sweep
    return ran


def _run_one(study: Any, objective: Any, guard: Patience) -> int:
    """Run the next queued trial; return 1 if one ran, 0 if the queue was empty or it was lost."""
    running: list[Any] = []

    def tracked(trial: Any) -> Any:
        running.append(trial)
        return objective(trial)

    try:
        study.optimize(tracked, n_trials=1, catch=(Exception,), gc_after_trial=False)
    except QueueEmpty:
        return 0  # another worker took the last queued trial first: look again
    except TrialHalted as halted:  # a full disk during the trial: it goes back to the queue
        _put_back(halted.trial)
        raise
    except TrialCutOff as cut:  # the storage went away under the trial (see below)
        trial = cut.trial
        guard.run(lambda: _queue_again(study, trial))
        return 0
    except Exception as exc:
        if is_full(exc):  # while Optuna handed out or recorded the trial
            if running:
                _put_back(running[0])
            raise
        if not is_outage(exc):
            raise
        # The storage went away under the trial, or while Optuna recorded its end: once it is
        # back, the trial ends FAIL (unless it was recorded) and its configuration is queued again.
        if running:
            guard.run(lambda: _queue_again(study, running[0]))
        return 0
    return 1


def _put_back(trial: Any) -> None:
    """Queue a trial that a full storage stopped again, as it was (see ``put_back``)."""
    try:
        put_back(trial)
    except Exception as exc:
        if not is_full(exc):
            raise
        # Not even that fits: it stays RUNNING, and a later sweep retries it once its
        # heartbeat is stale (as a dead worker's). Said here: the sweep's line says otherwise.
        print(f"lstmbench worker: trial {trial.number} could not be queued again ({full_detail(exc)}); "
              "the next sweep retries it", file=sys.stderr)


def _queue_again(study: Any, trial: Any) -> None:
    import optuna

    if stored_state(trial) != optuna.trial.TrialState.RUNNING:
        return  # finished meanwhile, or failed and queued again by another worker's heartbeat check
    trial.set_user_attr("fail_reason", "the storage was unreachable during the trial")
    study.enqueue_trial(queued_params(trial), user_attrs=retry_attrs(trial))
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


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
    """Entry point of a spawned worker process: import TensorFlow (see ``_get_ready``), then
    ``work``; exit 130 when interrupted, 143 when terminated.

    It leaves with ``os._exit`` once its output is flushed: its trials are committed by then,
    and the interpreter's own exit with TensorFlow loaded takes 1.5-2 s (the garbage collector
    walks all of TensorFlow's objects), which the sweep would wait for at its end.
    """
    code = _exit_code(args, kwargs)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _exit_code(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    from lstmbench.errors import UserError

    try:
        _get_ready(sigint=kwargs["sigint"])
        try:
            work(*args, **kwargs)
        finally:  # stopping: a signal from now on (the terminal's and ours) is not news
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except StorageLost:
        return LOST_EXIT  # the sweep says it, once for every worker
    except StorageFull:
        return FULL_EXIT  # the sweep says it, once for every worker
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"lstmbench worker: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        # A storage lost mid-sweep (server down, disk full): one line, password masked; the
        # trials completed so far are in the storage, the one running is retried via heartbeat.
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        print(f"lstmbench worker: {type(exc).__name__}: {mask(detail[0] if detail else '')}",
              file=sys.stderr)
        return 1
    return 0


def _get_ready(*, sigint: bool) -> None:
    """Import TensorFlow; a signal meanwhile ends the worker at once (it has touched nothing)."""

    def exit_now(signum: int, frame: Any) -> None:
        os._exit(143 if signum == signal.SIGTERM else 130)

    signal.signal(signal.SIGTERM, exit_now)
    signal.signal(signal.SIGINT, exit_now if sigint else signal.SIG_IGN)
    # Started with SIGINT blocked (see ``_start`` in _processes): a pending Ctrl-C lands now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    from lstmbench.trial import import_tensorflow

    import_tensorflow()
    # TensorFlow's objects live as long as the process: the garbage collector need not walk
    # them again (what follows, opening the storage, takes 0.42 instead of 0.57 s of CPU).
    gc.freeze()
