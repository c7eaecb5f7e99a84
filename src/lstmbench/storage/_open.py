"""Opening a storage: checks that never touch a file the user did not ask to change, SQLite
busy timeouts and immediate transactions, heartbeats, the first-start lock; passwords masked."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstmbench.errors import UserError
from lstmbench.storage._full import StorageFull, full_detail, is_full
from lstmbench.storage._optuna import optuna_schema_versions
from lstmbench.storage._outage import quiet_heartbeats
from lstmbench.storage._url import driver_url, mask, sqlite_path

SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_HEARTBEAT = 30  # seconds between a worker's heartbeats; a silent worker is stale after 3x


def check_sqlite_file(path: Path, *, must_exist: bool) -> None:
    """Refuse a path that is not an SQLite database, or (when reading) one that does not exist."""
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a database file: give a file path, e.g. "
                        f"sqlite:///{path / 'lstmbench.db'}", exit_code=1)
    if not path.exists():
        if must_exist:
            raise UserError(f"{path}: no such database: run `lstmbench sweep` first, or give "
                            "--storage URL of an existing one", exit_code=1)
        folder = Path(os.path.abspath(path.parent))  # "." would not tell the user where
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

    ``must_exist`` (readers such as ``report``) refuses to create a SQLite file or Optuna's
    tables. Before Optuna touches anything, the database is read (never written) to refuse a
    corrupt file, a database of some other program, or one of another Optuna schema version:
    Optuna would otherwise add its missing tables first and complain afterwards. A storage
    whose tables are being created by another worker right now is retried a few times.
    """
    import sqlalchemy.exc
    from optuna.storages import RDBStorage

    path = sqlite_path(url)
    if path is not None:
        check_sqlite_file(path, must_exist=must_exist)
    engine_kwargs = _engine_kwargs(path is not None)
    kwargs = _heartbeat_kwargs(heartbeat)
    for attempt in range(attempts):
        try:
            current = check_schema(url, engine_kwargs, must_exist=must_exist)
            # A schema checked current needs neither Optuna's own check (it reads the alembic
            # scripts again) nor, for a reader, its CREATE TABLE IF NOT EXISTS round.
            with _quiet_optuna_warnings():
                storage = quiet_heartbeats(RDBStorage(
                    driver_url(url), engine_kwargs=engine_kwargs, skip_compatibility_check=current,
                    skip_table_creation=current and must_exist, **kwargs))
            if path is not None:
                _immediate_transactions(storage.engine)
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError,
                sqlalchemy.exc.OperationalError) as exc:
            if is_full(exc):
                raise StorageFull(url, full_detail(exc)) from None
            # Two first starts on an empty database race on CREATE TABLE and on the version
            # rows: the loser retries (PostgreSQL: duplicate key / table; SQLite: "already
            # exists"). Anything else is a real error.
            racing = not isinstance(exc, sqlalchemy.exc.OperationalError) or "already exists" in str(exc)
            if not racing:
                raise UserError(_database_error(url, exc), exit_code=1) from None
            if attempt == attempts - 1:
                raise UserError(f"{mask(url)}: cannot create the Optuna tables: "
                                f"{mask(_first_line(exc))}", exit_code=1) from None
            time.sleep(0.5 * (attempt + 1))
        except sqlalchemy.exc.DatabaseError as exc:
            if is_full(exc):
                raise StorageFull(url, full_detail(exc)) from None
            raise UserError(_database_error(url, exc), exit_code=1) from None
        except sqlalchemy.exc.ArgumentError as exc:
            raise UserError(f"{mask(url)} is not a storage URL SQLAlchemy understands ({exc}): "
                            "use e.g. sqlite:///lstmbench.db or postgresql://user@host/db",
                            exit_code=2) from None
        except (ModuleNotFoundError, ImportError) as exc:
            hint = " (pip install 'lstmbench[postgres]')" if "postgres" in url.split(":")[0] else ""
            raise UserError(f"{mask(url)}: the database driver is missing: {exc}{hint}",
                            exit_code=1) from None
        except RuntimeError as exc:  # Optuna's own schema-version check, should ours miss one
            raise UserError(f"{mask(url)}: {mask(str(exc))}", exit_code=1) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _engine_kwargs(sqlite: bool) -> dict[str, Any]:
    if sqlite:
        return {"connect_args": {"timeout": 120}}  # wait for a busy database, do not fail
    return {"pool_pre_ping": True}  # a server restart must not fail the next trial


def _heartbeat_kwargs(heartbeat: int | None) -> dict[str, Any]:
    """RDBStorage's heartbeat settings: a worker silent for 3 beats is dead, its trial retried."""
    if not heartbeat:
        return {}
    with _quiet_optuna_warnings():
        return dict(heartbeat_interval=heartbeat, grace_period=3 * heartbeat,
                    heartbeat_stale_trial_callback=RetryStaleTrial(max_retry=3))


OPTUNA_TABLES = frozenset({"studies", "trials", "version_info", "alembic_version"})


def check_schema(url: str, engine_kwargs: dict[str, Any], *, must_exist: bool) -> bool:
    """Read the database and refuse what Optuna must not touch; write nothing. Return whether
    its schema is this Optuna's (False: no schema yet, or one being created right now).

    Refused: a file SQLite cannot read, an SQLite file with tables of some other program, an
    Optuna schema other than this Optuna's (newer: upgrade Optuna; older: the user upgrades the
    file, lstmbench never does), and for readers (``must_exist``) a database with no Optuna
    tables at all.
    """
    import sqlalchemy

    engine = sqlalchemy.create_engine(driver_url(url), **engine_kwargs)
    try:
        with engine.connect() as conn:
            tables = set(sqlalchemy.inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    where = sqlite_path(url) or mask(url)
    if not tables & OPTUNA_TABLES:
        if must_exist:
            raise UserError(f"{where} holds no Optuna study: run `lstmbench sweep` first, or give "
                            "the --storage of an existing one (nothing was created)", exit_code=1)
        if tables and sqlite_path(url) is not None:
            names = ", ".join(sorted(tables)[:5])
            raise UserError(f"{where} is an SQLite database of some other program (tables: {names}); "
                            "it was left unchanged: give another --storage", exit_code=1)
        return False
    if revision is None:  # tables being created by another worker right now, or pre-2019 Optuna
        return False
    head, known = optuna_schema_versions()
    if revision == head:
        return True
    if revision in known:
        raise UserError(
            f"{where} was written by an older Optuna (schema {revision}; this Optuna "
            f"{_optuna_version()} needs {head}); it was left unchanged. Back it up, then upgrade it "
            f"with `optuna storage upgrade --storage {mask(url)}`, or give another --storage",
            exit_code=1)
    raise UserError(
        f"{where} was written by a newer Optuna (schema {revision} is unknown to Optuna "
        f"{_optuna_version()}); it was left unchanged: `pip install -U optuna`, or give another "
        "--storage", exit_code=1)


def _optuna_version() -> str:
    import optuna

    return optuna.__version__


class RetryStaleTrial:
    """Heartbeat-stale trial (its worker died): queue it again, at most ``max_retry`` times.

    Optuna's ``RetryHeartbeatStaleTrialCallback``, but the copy records which trial it retries
    and does not inherit the failed run's ``fail_reason``.
    """

    def __init__(self, max_retry: int) -> None:
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        self._retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)

    def __call__(self, study: Any, trial: Any) -> None:
        attrs = {k: v for k, v in trial.user_attrs.items() if k != "fail_reason"}
        attrs["retry_of"] = trial.number
        trial.user_attrs = attrs
        self._retry(study, trial)


@contextlib.contextmanager
def first_start_lock(url: str) -> Iterator[None]:
    """Serialise the first start of concurrent sweeps on one PostgreSQL database.

    Creating Optuna's tables and the study from several machines at once races; a session-level
    advisory lock held while one sweep sets up makes the others wait instead. Other back-ends:
    SQLite serialises writers itself, the retries in :func:`open_storage` cover its table race.
    """
    if not driver_url(url).startswith("postgresql"):
        yield
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(driver_url(url), poolclass=sqlalchemy.pool.NullPool)
    try:
        conn = engine.connect()
    except sqlalchemy.exc.DBAPIError as exc:
        engine.dispose()
        raise UserError(_database_error(url, exc), exit_code=1) from None
    try:
        conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        yield
    finally:
        try:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        finally:
            conn.close()
            engine.dispose()


LOCK_KEY = 0x6C73746D  # "lstm": one advisory lock per database, for set-up only


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


def _database_error(url: str, exc: Exception) -> str:
    detail = _first_line(exc)
    path = sqlite_path(url)
    if path is not None:
        return (f"{path} cannot be used as an Optuna database ({detail}); it was left unchanged: "
                "give another --storage, or move the file away")
    return f"{mask(url)}: cannot connect or read ({mask(detail)})"


@contextlib.contextmanager
def _quiet_optuna_warnings() -> Iterator[None]:
    """Silence Optuna's "experimental" warnings for the heartbeat lstmbench relies on (the
    ``heartbeat_interval`` argument, the stale-trial retry callback), and nothing else."""
    import warnings

    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", EXPERIMENTAL_HEARTBEAT, ExperimentalWarning)
        yield


# The beginnings of the two warnings' messages (Optuna 4 and 5).
EXPERIMENTAL_HEARTBEAT = (r"(Argument ``heartbeat_interval`` is an|RetryHeartbeatStaleTrialCallback is) "
                          r"experimental")


def _immediate_transactions(engine: Any) -> None:
    """Make every SQLite transaction take the write lock when it begins (``BEGIN IMMEDIATE``).

    SQLite ignores ``SELECT ... FOR UPDATE``: with its default deferred transactions two workers
    can both read a queued trial as WAITING and both mark it RUNNING, then both run it ("Cannot
    tell a COMPLETE trial"). Taking the lock at BEGIN serialises the check and the update; the
    busy timeout makes the other worker wait its turn. (SQLAlchemy's pysqlite recipe.)
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below opens them

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made while Optuna set up the tables predate the listeners
