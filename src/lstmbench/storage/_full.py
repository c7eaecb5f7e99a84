"""A storage whose disk is full: named at once with the space left, never waited for as an outage.

A full disk does not come back by itself, unlike a restarting server: waiting for it would only
delay the one line that tells the user what to free. SQLite says "database or disk is full"
(SQLITE_FULL), PostgreSQL "could not extend file ...: No space left on device" (SQLSTATE 53100).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstmbench.errors import UserError
from lstmbench.storage._url import driver_url, mask, sqlite_path

FULL_EXIT = 74  # a worker's exit code when the storage is full (BSD's EX_IOERR)
SQLITE_FULL = 13  # sqlite3's error code
DISK_FULL = "53100"  # PostgreSQL's SQLSTATE
WORDS = ("database or disk is full", "No space left on device", "could not extend file")


def is_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it, at any level of wrapping) says the disk is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if (getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL
                or getattr(exc, "sqlstate", None) == DISK_FULL
                or any(word in str(exc) for word in WORDS)):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


def full_detail(exc: BaseException) -> str:
    """The database's own words for a full disk (the innermost line that says so), masked."""
    found = "no space left"
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        lines = [line.strip() for line in str(exc).splitlines() if any(w in line for w in WORDS)]
        if lines:
            found = mask(lines[0])
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return found


class TrialHalted(BaseException):
    """A full storage stopped a running trial: raised from the objective so that Optuna does not
    record the trial as FAIL (it tells a trial's end for ``Exception`` and ``KeyboardInterrupt``
    only); the worker puts the trial back in the queue instead. ``__cause__`` is the error."""

    def __init__(self, trial: Any) -> None:
        super().__init__(f"trial {trial.number} halted: the storage is full")
        self.trial = trial


class StorageFull(UserError):
    """The storage's disk is full: one line naming the storage and the space, exit 1."""

    def __init__(self, url: str, detail: str | None = None, *, study: str | None = None) -> None:
        if detail is None:  # the database's usual words
            detail = WORDS[0] if sqlite_path(url) is not None else WORDS[1]
        resume = "run the same command again"
        if study is not None:
            resume = f"resume with `lstmbench sweep --study {study} --trials 0 --storage {mask(url)}`"
        super().__init__(
            f"the storage {mask(url)} is full ({detail}): {space(url)}; completed trials are kept "
            f"there and a trial that was running is queued again: free space there (or give "
            f"another --storage), then {resume}", exit_code=1)


def space(url: str) -> str:
    """Where the storage's bytes go and how many are free: ``FOLDER has N bytes free of M``."""
    path = sqlite_path(url)
    if path is not None:
        return _free(Path(os.path.abspath(path)).parent)
    folder = _server_folder(url)
    if folder is not None and folder.exists():  # a server on this machine: its folder
        return _free(folder) + " (the database's folder on the server)"
    return "the database server's disk" + (f" ({folder})" if folder else "")


def _free(folder: Path) -> str:
    try:
        st = os.statvfs(folder)
    except OSError as exc:
        return f"{folder} (free space unknown: {exc.strerror})"
    free, total = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
    return f"{folder} has {free:,} bytes free of {_size(total)}"


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _server_folder(url: str) -> Path | None:
    """The folder of the PostgreSQL database's files: its tablespace's, else the server's data
    folder (a superuser's setting; None when this user may not read it)."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(driver_url(url), poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as conn:
                place = conn.exec_driver_sql(
                    "SELECT pg_tablespace_location(dattablespace) FROM pg_database "
                    "WHERE datname = current_database()").scalar()
                return Path(place or conn.exec_driver_sql("SHOW data_directory").scalar())
        finally:
            engine.dispose()
    except Exception:  # not allowed, not PostgreSQL, unreachable
        return None


@contextlib.contextmanager
def named_if_full(url: str, study: str | None = None) -> Iterator[None]:
    """Within it, a full-disk error becomes :class:`StorageFull` for ``url`` (and ``study``)."""
    try:
        yield
    except UserError:
        raise
    except BaseException as exc:
        if is_full(exc):
            raise StorageFull(url, full_detail(exc), study=study) from None
        raise
