"""Worker processes of a sweep: started with Ctrl-C held back, stopped together.

One Ctrl-C stops every worker and the sweep exits 130 (SIGTERM: 143); a worker that stops for
any other reason stops the sweep with one line. What the workers completed stays in the storage.

They start once the study is set up. Starting them before, so that their TensorFlow imports
overlapped the set-up, saved about 0.6 s of a default sweep (17 s; bench/sweep.py --variants
late-workers): not worth the start pipes and the stopping of workers never told to run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Any

from lstmbench.errors import UserError
from lstmbench.storage import DEFAULT_PATIENCE, FULL_EXIT, LOST_EXIT, StorageFull, StorageLost
from lstmbench.study._signals import Terminated
from lstmbench.study._worker import spawned_work


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Terminated


class Workers:
    """The worker processes of a sweep: ``run`` starts them and waits for them."""

    def __init__(self, jobs: int, url: str, name: str, spec: Any, heartbeat: int | None,
                 deadline: float | None, patience: float = DEFAULT_PATIENCE) -> None:
        self._jobs, self._work, self._patience = jobs, (url, name, spec), patience
        # Workers follow this process on Ctrl-C, unless it was started with SIGINT ignored.
        self._sigint = _on_main() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        self._options = dict(heartbeat=heartbeat, deadline=deadline, sigint=self._sigint,
                             patience=patience)

    def run(self) -> None:
        """Start the workers; return when they are done.

        Raises ``KeyboardInterrupt`` (``Terminated``) when a Ctrl-C (SIGTERM) stopped them,
        ``StorageLost`` when they gave up waiting for the storage, ``StorageFull`` when it is
        full, ``UserError`` when one stopped for another reason.
        """
        ctx = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
        procs = [ctx.Process(target=spawned_work, args=self._work,
                             kwargs=dict(index=i, **self._options), name=f"lstmbench-worker-{i}")
                 for i in range(self._jobs)]
        old_term = signal.signal(signal.SIGTERM, _on_sigterm) if _on_main() else None
        try:
            _start(procs, self._sigint)
            for p in procs:
                while p.is_alive():
                    p.join(0.2)
        except KeyboardInterrupt:
            # One Ctrl-C stops every worker. The terminal sent SIGINT to the whole process group
            # (a starting worker gets it once its handler is in); a signal sent to this process
            # alone is passed on as SIGTERM: handled like Ctrl-C by a running worker, a quiet
            # exit for one still starting.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            started = [p for p in procs if p.pid is not None]
            for p in started:
                if p.is_alive():
                    os.kill(p.pid, signal.SIGTERM)
            for p in started:
                p.join(60)
                if p.is_alive():
                    p.kill()
            raise
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
        _check_exits(procs, self._patience, *self._work[:2])


def _check_exits(procs: list[Any], patience: float, url: str, study: str) -> None:
    # Workers stopped by a signal this process did not see as one (it ignores SIGINT, or its
    # KeyboardInterrupt landed where Python cannot raise): the sweep was interrupted all the same.
    exits = {p.exitcode for p in procs}
    if 143 in exits:
        raise Terminated
    if 130 in exits:
        raise KeyboardInterrupt
    if FULL_EXIT in exits:
        raise StorageFull(url, study=study)
    if LOST_EXIT in exits:
        raise StorageLost(patience, "the workers stopped waiting for it")
    failed = [p for p in procs if p.exitcode != 0]
    if failed:
        codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in failed)
        raise UserError(f"worker(s) stopped early ({codes}); completed trials are kept: "
                        "run the same command again to continue", exit_code=1)


def _start(procs: list[Any], sigint: bool) -> None:
    """Start the workers; a Ctrl-C meanwhile is neither lost nor a traceback.

    The workers inherit SIGINT *blocked*: a Ctrl-C while they import Python waits until
    their own handler is in place (``_get_ready`` in _worker unblocks it) instead of
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
