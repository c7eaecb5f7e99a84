"""A storage that goes away mid-sweep (a PostgreSQL restart, a network cut): wait for it, for a
bounded time, instead of a traceback; then stop with one line."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lstmbench.errors import UserError
from lstmbench.storage._full import is_full
from lstmbench.storage._url import mask

DEFAULT_PATIENCE = 60.0  # seconds: a PostgreSQL restart or failover takes seconds to a minute
PATIENCE_ENV = "LSTMBENCH_STORAGE_PATIENCE"
LOST_EXIT = 75  # a worker's exit code when the storage stayed away (BSD's EX_TEMPFAIL)

T = TypeVar("T")


class StorageLost(UserError):
    """The storage stayed unreachable for the whole patience."""

    def __init__(self, patience: float, detail: str) -> None:
        super().__init__(
            f"the storage stayed unreachable for {patience:g} s ({detail}): completed trials are "
            "kept there, a trial that was running is queued again at the next start; run the "
            "same command again once it is back (or wait longer with --storage-patience S)",
            exit_code=1)


class TrialCutOff(BaseException):
    """The storage went away under a running trial: raised from the objective so that Optuna
    does not record the trial as FAIL with the storage's error (it tells a trial's end for
    ``Exception`` and ``KeyboardInterrupt`` only, as soon as the storage answers again); the
    worker waits for the storage, then fails the trial as cut off and queues it again.
    ``__cause__`` is the error."""

    def __init__(self, trial: Any) -> None:
        super().__init__(f"trial {trial.number} cut off: the storage was unreachable")
        self.trial = trial


def patience_seconds(seconds: float | None) -> float:
    """Return ``seconds``, else ``$LSTMBENCH_STORAGE_PATIENCE``, else the default (60 s)."""
    if seconds is None:
        told = os.environ.get(PATIENCE_ENV)
        try:
            seconds = DEFAULT_PATIENCE if told is None else float(told)
        except ValueError:
            raise UserError(f"${PATIENCE_ENV}={told!r} is not a number of seconds") from None
    if seconds < 0:
        raise UserError(f"--storage-patience {seconds:g} is out of range: must be >= 0 seconds")
    return seconds


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database cannot be reached right now.

    Optuna wraps SQLAlchemy's errors in ``StorageInternalError``; SQLAlchemy wraps the
    driver's. Connection refused or reset, a server shutting down, a locked SQLite file:
    ``OperationalError`` / ``InterfaceError`` at one of the levels.
    """
    import sqlalchemy.exc

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                            sqlalchemy.exc.DisconnectionError)):
            return True
        if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def detail(exc: BaseException) -> str:
    """The first line of the database's own message, passwords masked."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = str(getattr(exc, "orig", exc)).strip().splitlines()
    return mask(lines[0] if lines else type(exc).__name__)


def waiting_line(exc: BaseException, patience: float) -> str:
    return f"lstmbench: storage unreachable ({detail(exc)}); waiting up to {patience:g} s for it"


def back_line(waited_s: float) -> str:
    return f"lstmbench: storage back after {waited_s:.0f} s; the sweep goes on"


class Patience:
    """Run storage calls again while the storage is unreachable, for at most ``seconds`` in a row.

    Waits 0.5 s, then twice as long each time up to 10 s. ``check`` runs before each wait
    (a worker's Ctrl-C check); ``say`` hears one line when an outage starts and one when it ends.
    """

    def __init__(self, seconds: float, *, say: Callable[[str], None] | None = None,
                 check: Callable[[], None] | None = None) -> None:
        self.seconds, self._say, self._check = seconds, say, check

    def run(self, call: Callable[[], T]) -> T:
        since: float | None = None
        delay = 0.5
        while True:
            try:
                result = call()
            except Exception as exc:
                if not is_outage(exc) or is_full(exc):  # a full disk is not waited for
                    raise
                now = time.monotonic()
                if since is None:
                    since = now
                    self._tell(waiting_line(exc, self.seconds))
                if now - since >= self.seconds:
                    raise StorageLost(self.seconds, detail(exc)) from None
                if self._check is not None:
                    self._check()
                time.sleep(min(delay, max(0.0, since + self.seconds - now)))
                delay = min(2 * delay, 10.0)
                continue
            if since is not None:
                self._tell(back_line(time.monotonic() - since))
            return result

    def _tell(self, line: str) -> None:
        if self._say is not None:
            self._say(line)


def quiet_heartbeats(storage: Any) -> Any:
    """Make ``storage.record_heartbeat`` skip a beat when the storage is unreachable.

    Optuna beats from a thread of its own; an exception there ends the thread with a
    traceback on stderr, and the trial, with no more beats, is declared dead minutes later
    while it runs. A missed beat is harmless: the next one comes ``heartbeat`` seconds later.
    """
    beat = storage.record_heartbeat

    def record_heartbeat(trial_id: int) -> None:
        try:
            beat(trial_id)
        except Exception as exc:
            if not is_outage(exc):
                raise

    storage.record_heartbeat = record_heartbeat
    return storage
