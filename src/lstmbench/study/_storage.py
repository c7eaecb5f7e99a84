"""Storage URLs: defaults, checks that never touch a file the user did not ask to change,
SQLite busy timeouts, heartbeats, and passwords kept out of every message."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from lstmbench.errors import UserError

DEFAULT_STORAGE = "sqlite:///lstmbench.db"
SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_HEARTBEAT = 30  # seconds between a worker's heartbeats; a silent worker is stale after 3x


def storage_url(url: str | None) -> str:
    """Return ``url``, else ``$LSTMBENCH_STORAGE``, else ``sqlite:///lstmbench.db`` (current folder)."""
    return url or os.environ.get("LSTMBENCH_STORAGE") or DEFAULT_STORAGE


def mask(url: str) -> str:
    """Return the URL with any password replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def sqlite_path(url: str) -> Path | None:
    """Return the file of a ``sqlite:///`` URL (None for other back-ends and in-memory SQLite)."""
    m = re.match(r"^sqlite(\+\w+)?:///(.*)$", url)
    if not m or m.group(2) in ("", ":memory:"):
        return None
    return Path(m.group(2).split("?")[0])


def check_sqlite_file(path: Path, *, must_exist: bool) -> None:
    """Refuse a path that is not an SQLite database, or (when reading) one that does not exist."""
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a database file: give a file path, e.g. "
                        f"sqlite:///{path / 'lstmbench.db'}", exit_code=1)
    if not path.exists():
        if must_exist:
            raise UserError(f"{path}: no such database: run `lstmbench sweep` first, or give "
                            "--storage URL of an existing one", exit_code=1)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.exists():
            raise UserError(f"{folder}: no such folder for the database {path}", exit_code=1)
        if not os.access(folder, os.W_OK):
            raise UserError(f"{folder} is read-only: cannot create {path.name} there; run in a "
                            "writable folder or give --storage sqlite:////writable/path.db",
                            exit_code=1)
        return
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}", exit_code=1) from None
    if head and head != SQLITE_MAGIC:
        raise UserError(f"{path} is not an SQLite database (it was left unchanged): give another "
                        "--storage, or move the file away", exit_code=1)
    if not must_exist and not os.access(path, os.W_OK):
        raise UserError(f"{path} is read-only: lstmbench needs to write trials there", exit_code=1)


def open_storage(url: str, *, heartbeat: int | None = DEFAULT_HEARTBEAT, must_exist: bool = False,
                 attempts: int = 5) -> Any:
    """Return an Optuna ``RDBStorage`` for ``url``, with a busy timeout (SQLite) and heartbeat.

    ``must_exist`` (readers such as ``report``) refuses to create a SQLite file. A storage whose
    tables are being created by another worker right now is retried a few times.
    """
    import sqlalchemy.exc
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    path = sqlite_path(url)
    engine_kwargs: dict[str, Any] = {}
    if path is not None:
        check_sqlite_file(path, must_exist=must_exist)
        engine_kwargs["connect_args"] = {"timeout": 120}  # wait for a busy database, do not fail
    else:
        engine_kwargs["pool_pre_ping"] = True
    kwargs: dict[str, Any] = {}
    if heartbeat:
        kwargs = dict(
            heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
        )
    for attempt in range(attempts):
        try:
            with _quiet_optuna_warnings():
                return RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            # Two first starts on an empty database race on CREATE TABLE: the loser retries.
            if attempt == attempts - 1:
                raise UserError(f"{mask(url)}: cannot create the Optuna tables: {exc.orig}",
                                exit_code=1) from None
            time.sleep(0.5 * (attempt + 1))
        except sqlalchemy.exc.DatabaseError as exc:
            raise UserError(_database_error(url, exc), exit_code=1) from None
        except sqlalchemy.exc.ArgumentError as exc:
            raise UserError(f"{mask(url)} is not a storage URL SQLAlchemy understands ({exc}): "
                            "use e.g. sqlite:///lstmbench.db or postgresql://user@host/db",
                            exit_code=2) from None
        except (ModuleNotFoundError, ImportError) as exc:
            hint = " (pip install 'lstmbench[postgres]')" if "psycopg" in str(exc) else ""
            raise UserError(f"{mask(url)}: the database driver is missing: {exc}{hint}",
                            exit_code=1) from None
        except RuntimeError as exc:  # Optuna's schema-version check
            raise UserError(f"{mask(url)}: {exc}", exit_code=1) from None
        except sqlalchemy.exc.OperationalError as exc:  # pragma: no cover - subclass of DatabaseError
            raise UserError(_database_error(url, exc), exit_code=1) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _database_error(url: str, exc: Exception) -> str:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    path = sqlite_path(url)
    if path is not None:
        return (f"{path} cannot be used as an Optuna database ({detail}); it was left unchanged: "
                "give another --storage, or move the file away")
    return f"{mask(url)}: cannot connect or read ({mask(detail)})"


class _quiet_optuna_warnings:
    """Silence Optuna's 'experimental argument' warning for heartbeat_interval."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
