"""``lstmbench sweep`` as a library function: queue trials, run workers, show progress.

The verdict a sweep ends with is the report's (``lstmbench.report``); the command prints it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from rich.console import Console

from lstmbench.errors import UserError
from lstmbench.memory import check_study
from lstmbench.spec import StudySpec, load_study_spec
from lstmbench.storage import (
    DEFAULT_HEARTBEAT,
    Patience,
    first_start_lock,
    mask,
    named_if_full,
    open_storage,
    patience_seconds,
    quiet_optuna,
    sqlite_path,
    storage_url,
)
from lstmbench.study._confirm import confirmation_lines
from lstmbench.study._processes import Workers
from lstmbench.study._progress import Progress
from lstmbench.study._queue import not_queued, queue_trials
from lstmbench.study._signals import Terminated
from lstmbench.study._study import SWEEP, create_or_join
from lstmbench.study._worker import work
from lstmbench.tasks import with_data


@dataclass(frozen=True)
class SweepOutcome:
    study: str
    storage: str  # password masked
    queued: int
    complete: int  # trials of this sweep that completed
    failed: int
    pruned: int
    left: int  # queued trials not run (timeout or interruption); the next run does them
    wall_s: float
    exit_code: int = 0
    confirmations: tuple[str, ...] = ()  # per arm: its best trial and what confirmed it, or why not


def run_sweep(
    *,
    trials: int | None = 50,
    spec: str | None = None,
    study: str | None = None,
    storage: str | None = None,
    jobs: int | None = None,
    timeout: float | None = None,
    seed: int | None = None,
    heartbeat: int | None = DEFAULT_HEARTBEAT,
    quiet: bool = False,
    console: Console | None = None,
    storage_patience: float | None = None,
    confirm: bool = True,
    data: str | None = None,
) -> SweepOutcome:
    """Run ``trials`` more trials of a study (created from ``spec`` if new); return the outcome.

    ``jobs`` worker processes (default: one per core; 1 runs in this process) queue the sweep's
    trials as they go and take them from the study's queue. ``trials=0`` only finishes what an
    interrupted run left queued or planned. The search trials of a study end with the
    confirmation of each arm's best on fresh seeds (see ``_confirm``), unless ``confirm`` is
    False (or the spec's ``confirmation.members`` is 0). ``timeout`` counts from the call.
    A storage lost mid-sweep is waited for ``storage_patience`` seconds (default:
    $LSTMBENCH_STORAGE_PATIENCE, else 60), then ``StorageLost`` is raised. ``data``: the user's
    .npz in place of the spec's task (the study is then named after the file).
    """
    start, began = time.perf_counter(), time.time()
    console = console or Console(stderr=False)
    _check_ranges(trials, jobs, timeout, heartbeat)
    deadline = None if timeout is None else began + timeout  # counts from the start
    patience = patience_seconds(storage_patience)
    study_spec = _load_spec(spec, seed, jobs, data)
    name = study or study_spec.name
    url = storage_url(storage)
    heartbeat = heartbeat or None
    work_args = (url, name, study_spec, heartbeat, deadline, patience)
    with named_if_full(url, name):
        optuna_study = _open_study(url, name, study_spec, heartbeat)
        sweep_id, queued, queue, earlier = _plan(optuna_study, study_spec, trials, confirm)
    total = queued + len(queue) + sum(earlier.values())
    jobs = max(1, min(jobs or os.cpu_count() or 1, total or 1))
    progress = Progress(optuna_study, frozenset({sweep_id, *earlier}), total=total,
                        console=console, quiet=quiet, queued=frozenset(queue),
                        since=len(optuna_study.get_trials(deepcopy=False)), patience=patience)
    where = sqlite_path(url) or mask(url)
    if not quiet:  # last: a Ctrl-C from here on is the sweep's (interrupted, resume with ...)
        extra = f" (+{total - queued} left queued before)" if total > queued else ""
        console.print(f"study [bold]{name}[/] in {where}: {queued} trials queued{extra}, "
                      f"{jobs} worker{'s' if jobs > 1 else ''}")
    exit_code = _run_workers(progress, jobs, work_args)
    counts = progress.counts()
    left = Patience(patience).run(  # a storage lost at the very end: waited for too
        lambda: len(_waiting(optuna_study)) + sum(not_queued(optuna_study).values()))
    outcome = SweepOutcome(
        study=name, storage=mask(url), queued=queued, complete=counts["COMPLETE"],
        failed=counts["FAIL"], pruned=counts["PRUNED"], left=left,
        wall_s=time.perf_counter() - start, exit_code=exit_code,
    )
    if not exit_code:
        resume = f"lstmbench sweep --study {name} --trials 0" + (
            "" if storage is None else f" --storage {outcome.storage}")
        outcome = replace(outcome, confirmations=tuple(Patience(patience).run(
            lambda: confirmation_lines(optuna_study.get_trials(deepcopy=False), study_spec,
                                       {sweep_id, *earlier}, confirm=confirm, resume=resume))))
    return _conclude(outcome, optuna_study, sweep_id, where, storage, console, quiet)


def _load_spec(spec: str | None, seed: int | None, jobs: int | None,
               data: str | None = None) -> StudySpec:
    study_spec = load_study_spec(spec)
    if seed is not None:
        study_spec = replace(study_spec, seed=seed)
    # The largest configuration of the space, in every worker at once: refused before anything
    # is queued, rather than a worker's allocation failing trials one after the other (and
    # before an npz file's sequences are loaded).
    workers = jobs or os.cpu_count() or 1
    study_spec = with_data(study_spec, data, fits=lambda s: check_study(s, workers=workers))
    check_study(study_spec, workers=workers)
    return study_spec


def _run_workers(progress: Progress, jobs: int, work_args: tuple[Any, ...]) -> int:
    """Run the workers (in this process when ``jobs`` is 1) under ``progress``; return 0, or
    130 / 143 when Ctrl-C / SIGTERM stopped them."""
    url, name, spec, heartbeat, deadline, patience = work_args
    try:
        with progress:
            if jobs > 1:
                Workers(jobs, *work_args).run()
            else:
                work(url, name, spec, index=0, heartbeat=heartbeat, deadline=deadline,
                     patience=patience)
    except KeyboardInterrupt as exc:
        return 143 if isinstance(exc, Terminated) else 130
    return 0


def _check_ranges(trials: int | None, jobs: int | None, timeout: float | None,
                  heartbeat: int | None) -> None:
    if trials is not None and trials < 0:
        raise UserError(f"--trials {trials} is out of range: must be >= 0")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs {jobs} is out of range: must be >= 1")
    if timeout is not None and timeout <= 0:
        raise UserError(f"--timeout {timeout} is out of range: must be > 0 seconds")
    if heartbeat is not None and heartbeat < 0:
        raise UserError(f"--heartbeat {heartbeat} is out of range: 0 (off) or seconds >= 1")


def _open_study(url: str, name: str, spec: StudySpec, heartbeat: int | None) -> Any:
    """Create or join the study; fail (and queue again) trials of workers that died earlier."""
    import optuna

    quiet_optuna()
    with first_start_lock(url):  # several machines starting at once: one sets up, others wait
        rdb = open_storage(url, heartbeat=heartbeat)
        study = create_or_join(rdb, name, spec)
    if heartbeat:
        # A worker of an earlier run that died (SIGKILL, power loss) left its trial RUNNING:
        # past the grace period it is marked FAIL and queued again, before this run's trials.
        optuna.storages.fail_stale_trials(study)
    return study


def _plan(study: Any, spec: StudySpec, trials: int | None,
          confirm: bool) -> tuple[str, int, set[int], dict[str, int]]:
    """Record this sweep's plan; return (its id, its trials, the trials queued before it, and
    what plans of earlier runs that stopped early have still to queue, by sweep id)."""
    # The plan only: the workers queue its trials a few at a time (see _queue).
    sweep_id, queued = queue_trials(study, spec, trials, confirm=confirm)
    earlier = not_queued(study)
    earlier.pop(sweep_id, None)
    return sweep_id, queued, _waiting(study), earlier


def _waiting(study: Any) -> set[int]:
    import optuna

    return {t.number for t in study.get_trials(deepcopy=False,
                                                states=(optuna.trial.TrialState.WAITING,))}


def _conclude(outcome: SweepOutcome, study: Any, sweep_id: str, where: Any, storage: str | None,
              console: Console, quiet: bool) -> SweepOutcome:
    """Print how the sweep ended (the verdict is the command's); return the final outcome."""
    name, left = outcome.study, outcome.left
    if outcome.exit_code:
        console.print(
            f"lstmbench: {'terminated' if outcome.exit_code == 143 else 'interrupted'}: "
            f"{outcome.complete} trials of this sweep completed and are kept in {where}; "
            f"{left} queued. Resume with: lstmbench sweep --study {name} --trials 0"
            + ("" if storage is None else f" --storage {outcome.storage}"),
            style="yellow", highlight=False, soft_wrap=True,  # a command to copy: never wrapped
        )
        return outcome
    if not quiet:
        for line in outcome.confirmations:
            console.print(f"confirmation · {line}", highlight=False, soft_wrap=True)
    if left and not quiet:
        console.print(f"timeout: {left} trials left queued; `lstmbench sweep --study {name} "
                      "--trials 0` runs them")
    if outcome.failed and not outcome.complete and not outcome.pruned:
        # Trials that fail go on to the next; a sweep in which every one failed did not work.
        console.print(f"lstmbench: all {outcome.failed} trials of this sweep failed (most often: "
                      f"{_common_failure(study, sweep_id)}); fix the spec and run again",
                      style="red", highlight=False, soft_wrap=True)
        return replace(outcome, exit_code=1)
    return outcome


def _common_failure(study: Any, sweep_id: str) -> str:
    import optuna

    reasons = Counter(t.user_attrs.get("fail_reason") or "its worker stopped"
                      for t in study.get_trials(deepcopy=False,
                                                states=(optuna.trial.TrialState.FAIL,))
                      if t.user_attrs.get(SWEEP) == sweep_id)
    return reasons.most_common(1)[0][0] if reasons else "see the trials' fail_reason"
