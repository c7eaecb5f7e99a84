"""``lstmbench sweep`` as a library function: queue trials, run workers, show progress, conclude."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from rich.console import Console

from lstmbench.errors import UserError
from lstmbench.report import Summary
from lstmbench.spec import load_study_spec
from lstmbench.study._progress import Progress
from lstmbench.study._signals import Terminated
from lstmbench.study._storage import (
    DEFAULT_HEARTBEAT,
    first_start_lock,
    mask,
    open_storage,
    sqlite_path,
    storage_url,
)
from lstmbench.study._study import SWEEP, create_or_join, queue_trials
from lstmbench.study._verdict import print_verdict, sweep_summary
from lstmbench.study._worker import quiet_optuna, spawned_work, work


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
    summary: Summary  # the report's summary of the whole study after this sweep
    exit_code: int = 0


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
) -> SweepOutcome:
    """Run ``trials`` more trials of a study (created from ``spec`` if new); return the outcome.

    ``jobs`` worker processes (default: one per core; 1 runs in this process) take trials from
    the study's queue. ``trials=0`` only finishes what an interrupted run left queued.
    """
    start = time.perf_counter()
    console = console or Console(stderr=False)
    if trials is not None and trials < 0:
        raise UserError(f"--trials {trials} is out of range: must be >= 0")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs {jobs} is out of range: must be >= 1")
    if timeout is not None and timeout <= 0:
        raise UserError(f"--timeout {timeout} is out of range: must be > 0 seconds")
    if heartbeat is not None and heartbeat < 0:
        raise UserError(f"--heartbeat {heartbeat} is out of range: 0 (off) or seconds >= 1")
    study_spec = load_study_spec(spec)
    if seed is not None:
        study_spec = replace(study_spec, seed=seed)
    name = study or study_spec.name
    url = storage_url(storage)
    heartbeat = heartbeat or None
    quiet_optuna()
    with first_start_lock(url):  # several machines starting at once: one sets up, others wait
        rdb = open_storage(url, heartbeat=heartbeat)
        optuna_study = create_or_join(rdb, name, study_spec)
    import optuna

    if heartbeat:
        # A worker of an earlier run that died (SIGKILL, power loss) left its trial RUNNING:
        # past the grace period it is marked FAIL and queued again, before this run's trials.
        optuna.storages.fail_stale_trials(optuna_study)
    sweep_id, queued = queue_trials(optuna_study, study_spec, trials)

    queue = {t.number for t in optuna_study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.WAITING,))}
    waiting = len(queue)
    jobs = max(1, min(jobs or os.cpu_count() or 1, waiting or 1))
    deadline = None if timeout is None else time.time() + timeout

    where = sqlite_path(url) or mask(url)
    if not quiet:
        extra = f" (+{waiting - queued} left queued before)" if waiting > queued else ""
        console.print(f"study [bold]{name}[/] in {where}: {queued} trials queued{extra}, "
                      f"{jobs} worker{'s' if jobs > 1 else ''}")

    progress = Progress(optuna_study, sweep_id, total=waiting, console=console, quiet=quiet,
                        queued=frozenset(queue))
    exit_code = 0
    try:
        with progress:
            if jobs == 1:
                work(url, name, study_spec, index=0, heartbeat=heartbeat, deadline=deadline)
            else:
                _run_processes(jobs, url, name, study_spec, heartbeat, deadline)
    except KeyboardInterrupt as exc:
        exit_code = 143 if isinstance(exc, Terminated) else 130

    counts = progress.counts()
    left = len(optuna_study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))
    summary = sweep_summary(optuna_study)
    outcome = SweepOutcome(
        study=name, storage=mask(url), queued=queued, complete=counts["COMPLETE"],
        failed=counts["FAIL"], pruned=counts["PRUNED"], left=left,
        wall_s=time.perf_counter() - start, summary=summary, exit_code=exit_code,
    )
    if exit_code:
        console.print(
            f"lstmbench: {'terminated' if exit_code == 143 else 'interrupted'}: "
            f"{outcome.complete} trials of this sweep completed and are kept in {where}; "
            f"{left} queued. Resume with: lstmbench sweep --study {name} --trials 0"
            + ("" if storage is None else f" --storage {mask(url)}"),
            style="yellow", highlight=False, soft_wrap=True,  # a command to copy: never wrapped
        )
        return outcome
    if not quiet:
        if left:
            console.print(f"timeout: {left} trials left queued; `lstmbench sweep --study {name} "
                          "--trials 0` runs them")
        print_verdict(summary, console)
        console.print(f"{outcome.complete} completed, {outcome.failed} failed, "
                      f"{outcome.pruned} pruned in {outcome.wall_s:.1f} s · "
                      f"`lstmbench report` for the full answer")
    if outcome.failed and not outcome.complete and not outcome.pruned:
        # Trials that fail go on to the next; a sweep in which every one failed did not work.
        reasons = Counter(t.user_attrs.get("fail_reason") or "its worker stopped"
                          for t in optuna_study.get_trials(
                              deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
                          if t.user_attrs.get(SWEEP) == sweep_id)
        reason = reasons.most_common(1)[0][0] if reasons else "see the trials' fail_reason"
        console.print(f"lstmbench: all {outcome.failed} trials of this sweep failed (most often: "
                      f"{reason}); fix the spec and run again",
                      style="red", highlight=False, soft_wrap=True)
        return replace(outcome, exit_code=1)
    return outcome


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Terminated


def _run_processes(jobs: int, url: str, name: str, spec: Any, heartbeat: int | None,
                   deadline: float | None) -> None:
    on_main = _on_main()
    # Workers follow this process on Ctrl-C, unless it was started with SIGINT ignored.
    sigint = on_main and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    ctx = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    procs = [
        ctx.Process(target=spawned_work, args=(url, name, spec),
                    kwargs=dict(index=i, heartbeat=heartbeat, deadline=deadline, sigint=sigint),
                    name=f"lstmbench-worker-{i}")
        for i in range(jobs)
    ]
    old_term = signal.signal(signal.SIGTERM, _on_sigterm) if on_main else None
    try:
        _start(procs, sigint)
        for p in procs:
            while p.is_alive():
                p.join(0.2)
    except KeyboardInterrupt:
        # One Ctrl-C stops every worker. The terminal sent SIGINT to the whole process group
        # (a starting worker gets it once its handler is in); a signal sent to this process
        # alone is passed on as SIGTERM: handled like Ctrl-C by a running worker, a quiet exit
        # for one still starting.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()
        raise
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    # Workers stopped by a signal this process did not see as one (it ignores SIGINT, or its
    # KeyboardInterrupt landed where Python cannot raise): the sweep was interrupted all the same.
    exits = {p.exitcode for p in procs}
    if 143 in exits:
        raise Terminated
    if 130 in exits:
        raise KeyboardInterrupt
    failed = [p for p in procs if p.exitcode != 0]
    if failed:
        codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in failed)
        raise UserError(f"worker(s) stopped early ({codes}); completed trials are kept: "
                        "run the same command again to continue", exit_code=1)


def _start(procs: list[Any], sigint: bool) -> None:
    """Start the workers; a Ctrl-C meanwhile is neither lost nor a traceback.

    The workers inherit SIGINT *blocked*: a Ctrl-C while they import Python and TensorFlow
    waits until their own handler is in place (``interruptible`` unblocks it) instead of
    printing a traceback from multiprocessing's bootstrap. This process notes a Ctrl-C during
    the starts and raises it once every worker it started is known, so none goes unstopped.
    """
    if not sigint:
        for p in procs:
            p.start()
        return
    # multiprocessing starts its resource tracker at the first start, and unblocks SIGINT
    # after doing so: start it before blocking.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    noted: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for p in procs:
            p.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending one: noted now
        signal.signal(signal.SIGINT, old)
    if noted:
        raise KeyboardInterrupt


def _on_main() -> bool:
    return threading.current_thread() is threading.main_thread()
