"""Ctrl-C and SIGTERM in a worker: stop the running trial, never a storage write.

A Python signal handler runs between two bytecodes of the main thread, wherever they are. The
handler here raises only while a trial is training; while the trial talks to the storage
(``shielded``) or between trials it only records the signal, and the next check raises. One
case needs more: a handler that runs inside a weakref callback or a ``__del__`` (garbage
collected in TensorFlow's Python code, say) raises into code whose exceptions Python ignores —
it prints "Exception ignored in ..." with a traceback and training goes on. So the recorded
signal is checked again at every epoch boundary, and that one ignored exception is not printed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled like Ctrl-C, but the sweep exits with 143."""


TIME_UP = "stopped at the sweep's --timeout"  # the fail_reason of a trial TimeUp stopped


class TimeUp(Exception):
    """The sweep's ``--timeout`` passed while a trial was training: it stops and is queued again."""


# What the handler needs to know: may it raise now, and which signal arrived; and when the
# sweep's time is up. One worker per process, so module state is enough.
_state: dict[str, Any] = {"in_trial": False, "received": None, "deadline": None}


def check_time(now: float) -> None:
    """Raise :class:`TimeUp` when ``now`` (``time.time()``) is past the worker's deadline."""
    if _state["deadline"] is not None and now >= _state["deadline"]:
        raise TimeUp(TIME_UP)


def interrupt_once(signum: int, frame: Any) -> None:
    """First SIGINT/SIGTERM: stop the running trial at once, or the worker at its next check.

    Later signals are ignored, so that the interrupted trial's state is written in full. (Not
    by setting SIG_IGN here: a second signal already pending would then make Python print
    "Signal 15 ignored due to race condition" with a traceback.)
    """
    if _state["received"] is not None:
        return
    _state["received"] = signum
    if _state["in_trial"]:
        raise _interruption()


def _interruption() -> KeyboardInterrupt:
    return Terminated() if _state["received"] == signal.SIGTERM else KeyboardInterrupt()


def check_interrupted() -> None:
    """Raise the interruption a signal asked for, if any."""
    if _state["received"] is not None:
        raise _interruption()


@contextlib.contextmanager
def interruptible(*, sigint: bool | None = None, deadline: float | None = None) -> Iterator[None]:
    """Install the handlers for the body (main thread only) and restore the old ones after.

    ``deadline`` (``time.time()``): from then on :func:`check_time` stops the running trial.

    ``sigint=None``: a SIGINT ignored on entry stays ignored — the process was started as a
    background job or under ``nohup`` and asked not to stop on Ctrl-C (SIGTERM still stops it).
    A spawned worker is told instead (it starts with SIGINT blocked, see ``_start`` in _processes).
    """
    _state.update(in_trial=False, received=None, deadline=deadline)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if sigint is None:
        sigint = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    on_int = interrupt_once if sigint else signal.SIG_IGN
    old = signal.signal(signal.SIGINT, on_int), signal.signal(signal.SIGTERM, interrupt_once)
    # A spawned worker starts with SIGINT blocked (see ``_start`` in _processes): from here a
    # Ctrl-C, one already pending included, reaches the handler.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    old_hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        # Our own interruption, raised where Python cannot propagate it: the epoch check stops
        # the trial instead; anything else is reported as Python would.
        if not (isinstance(info.exc_value, KeyboardInterrupt) and _state["received"] is not None):
            old_hook(info)

    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old[0])
        signal.signal(signal.SIGTERM, old[1])
        sys.unraisablehook = old_hook
        _state.update(in_trial=False, received=None, deadline=None)


@contextlib.contextmanager
def trial_running() -> Iterator[None]:
    """Mark the body as a trial: from here a signal interrupts it right away."""
    check_interrupted()
    _state["in_trial"] = True
    try:
        yield
    finally:
        _state["in_trial"] = False


@contextlib.contextmanager
def shielded(*, interrupt_after: bool = True) -> Iterator[None]:
    """Within a trial, storage writes: a signal waits for their end.

    Then it interrupts the trial; with ``interrupt_after=False`` (the finished trial's result)
    the trial completes and the worker stops before the next one.
    """
    was, _state["in_trial"] = _state["in_trial"], False
    try:
        yield
    finally:
        _state["in_trial"] = was
    if interrupt_after:
        check_interrupted()
