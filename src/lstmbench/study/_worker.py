"""One worker: join the study and run queued trials until none is left (or time is up).

Runs in the sweep's own process (``--jobs 1``) or in a spawned process per core; TensorFlow is
imported only here, never in the process that shows the progress bar of several workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import time
from collections.abc import Iterator
from typing import Any

from lstmbench.spec import StudySpec
from lstmbench.study._storage import mask, open_storage
from lstmbench.study._study import make_pruner, make_sampler


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled like Ctrl-C, but the sweep exits with 143."""


# What the signal handler needs to know: is a trial running in this process, and which signal
# arrived. One worker per process, so module state is enough.
_signals: dict[str, Any] = {"in_trial": False, "received": None}


def interrupt_once(signum: int, frame: Any) -> None:
    """First SIGINT/SIGTERM: stop the running trial, or the worker before its next trial.

    Inside a trial it raises at once (the objective records the FAIL and queues the trial
    again). Between trials raising could land inside Optuna's bookkeeping — a trial taken from
    the queue but not yet started would stay RUNNING — so the worker stops at its next check
    instead. Later signals are ignored, so that the trial's state is written in full.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _signals["received"] = signum
    if _signals["in_trial"]:
        raise _interruption()


def _interruption() -> KeyboardInterrupt:
    return Terminated() if _signals["received"] == signal.SIGTERM else KeyboardInterrupt()


def reset_signals() -> None:
    _signals.update(in_trial=False, received=None)


def check_interrupted() -> None:
    """Raise the interruption a signal asked for between trials, if any."""
    if _signals["received"] is not None:
        raise _interruption()


@contextlib.contextmanager
def trial_running() -> Iterator[None]:
    """Mark the body as inside a trial: a signal now interrupts it right away."""
    check_interrupted()
    _signals["in_trial"] = True
    try:
        yield
    finally:
        _signals["in_trial"] = False


def quiet_optuna() -> None:
    import warnings

    import optuna

    # Optuna logs every failed trial with a traceback (Ctrl-C included); the sweep reports
    # failures itself, one line each, with the reason stored in the trial.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # heartbeat and TPE's group option are "experimental" in Optuna's words; we rely on both.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def work(url: str, study_name: str, spec: StudySpec, *, index: int, heartbeat: int | None,
         deadline: float | None, jit: bool | None = None, install_signals: bool = True) -> int:
    """Run queued trials of ``study_name`` until the queue is empty; return how many ran."""
    import optuna

    from lstmbench.study._objective import make_objective

    if install_signals:
        reset_signals()
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
    queue_only(study)
    ran = 0
    waiting = (optuna.trial.TrialState.WAITING,)
    while deadline is None or time.time() < deadline:
        check_interrupted()
        if not study.get_trials(deepcopy=False, states=waiting) and not wait_for_dead_workers(
                study, heartbeat, deadline):
            break
        try:
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
        except QueueEmpty:
            continue  # another worker took the last queued trial first: look again
        ran += 1
    check_interrupted()  # a signal during the last trial's bookkeeping still stops the sweep
    return ran


class QueueEmpty(Exception):
    """Raised by a queue-only study's ``ask`` when no trial is WAITING."""


def queue_only(study: Any) -> None:
    """Make ``study.ask`` take queued trials only, never sample a new one.

    Between a worker seeing one WAITING trial and asking for it, another worker may take it;
    Optuna's ``ask`` would then create an extra trial nobody queued (one more than ``--trials``
    and an arm out of balance). ``ask`` pops the queue through ``_pop_waiting_trial_id``: when
    that finds nothing, raise instead.
    """
    pop = getattr(study, "_pop_waiting_trial_id", None)
    if pop is None:  # pragma: no cover - a future Optuna: fall back to its own behaviour
        return

    def pop_or_raise() -> int:
        trial_id = pop()
        if trial_id is None:
            raise QueueEmpty
        return trial_id

    study._pop_waiting_trial_id = pop_or_raise


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


def late_trials(study: Any, late_s: float) -> list[int]:
    """Return the ids of RUNNING trials of ``study`` whose last heartbeat is older than ``late_s``."""
    import datetime

    import optuna
    import sqlalchemy
    from optuna.storages._rdb import models

    storage = study._storage
    storage = getattr(storage, "_backend", storage)  # a cached storage wraps the RDB one
    engine = getattr(storage, "engine", None)
    if engine is None:
        return []
    with engine.connect() as conn:
        now = conn.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar()
        rows = conn.execute(
            sqlalchemy.select(models.TrialModel.trial_id, models.TrialHeartbeatModel.heartbeat)
            .join(models.TrialHeartbeatModel,
                  models.TrialHeartbeatModel.trial_id == models.TrialModel.trial_id)
            .where(models.TrialModel.study_id == study._study_id,
                   models.TrialModel.state == optuna.trial.TrialState.RUNNING)
        ).all()
    now = now.replace(tzinfo=None)  # as Optuna does: PostgreSQL answers with a time zone
    late = datetime.timedelta(seconds=late_s)
    return [trial_id for trial_id, beat in rows if now - beat > late]


def spawned_work(*args: Any, **kwargs: Any) -> None:
    """Entry point of a spawned worker process: exit 130 when interrupted, 0 otherwise."""
    import sys

    from lstmbench.errors import UserError

    try:
        work(*args, **kwargs)
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
