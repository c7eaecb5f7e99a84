"""Worker processes of a sweep: spawned, started with Ctrl-C held back, stopped together.

One Ctrl-C stops every worker and the sweep exits 130 (SIGTERM: 143); a worker that stops for
any other reason stops the sweep with one line. What the workers completed stays in the storage.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Any

from lstmbench.errors import UserError
from lstmbench.storage import DEFAULT_PATIENCE, LOST_EXIT, StorageLost
from lstmbench.study._signals import Terminated
from lstmbench.study._worker import spawned_work


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Terminated


def run_processes(jobs: int, url: str, name: str, spec: Any, heartbeat: int | None,
                   deadline: float | None,
                   patience: float = DEFAULT_PATIENCE) -> None:
    on_main = _on_main()
    # Workers follow this process on Ctrl-C, unless it was started with SIGINT ignored.
    sigint = on_main and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    ctx = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    procs = [
        ctx.Process(target=spawned_work, args=(url, name, spec),
                    kwargs=dict(index=i, heartbeat=heartbeat, deadline=deadline,
                                sigint=sigint, patience=patience),
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
    if LOST_EXIT in exits:
        raise StorageLost(patience, "the workers stopped waiting for it")
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
