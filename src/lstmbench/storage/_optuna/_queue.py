"""The study's queue edited in one transaction that holds the study's row lock.

Private: ``RDBStorage._get_prepared_new_trial``, ``Study._storage`` / ``_study_id``, the ORM
models of ``optuna.storages._rdb.models``; tested in ``tests/test_optuna_internals.py`` and
``tests/test_queue.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lstmbench.storage._full import is_full
from lstmbench.storage._optuna._engine import rdb_engine


class QueueEdit:
    """A study's queue inside one transaction that holds the study's row lock (see ``edit_queue``)."""

    def __init__(self, backend: Any, session: Any, study_id: int) -> None:
        self._backend, self._session, self._study_id = backend, session, study_id

    def waiting(self) -> int:
        """How many trials of the study are WAITING."""
        import optuna
        import sqlalchemy
        from optuna.storages._rdb import models

        return self._session.execute(
            sqlalchemy.select(sqlalchemy.func.count(models.TrialModel.trial_id))
            .where(models.TrialModel.study_id == self._study_id,
                   models.TrialModel.state == optuna.trial.TrialState.WAITING)
        ).scalar_one()

    def tagged(self, key: str, value: Any, *, unless: str) -> int:
        """How many trials have the user attribute ``key == value`` and no attribute ``unless``."""
        import sqlalchemy
        from optuna.storages._rdb import models

        trial, attr = models.TrialModel, models.TrialUserAttributeModel
        tag, other = sqlalchemy.orm.aliased(attr), sqlalchemy.orm.aliased(attr)
        return self._session.execute(
            sqlalchemy.select(sqlalchemy.func.count(trial.trial_id))
            .join(tag, sqlalchemy.and_(tag.trial_id == trial.trial_id, tag.key == key,
                                       tag.value_json == json.dumps(value)))
            .where(trial.study_id == self._study_id,
                   ~sqlalchemy.exists().where(other.trial_id == trial.trial_id, other.key == unless))
        ).scalar_one()

    def add(self, params: dict[str, Any], user_attrs: dict[str, Any]) -> None:
        """Queue a trial as ``Study.enqueue_trial`` does, inside this transaction.

        Private: ``RDBStorage._get_prepared_new_trial`` (which numbers the trial).
        """
        import optuna

        template = optuna.trial.create_trial(state=optuna.trial.TrialState.WAITING,
                                             system_attrs={"fixed_params": params},
                                             user_attrs=user_attrs)
        self._backend._get_prepared_new_trial(self._study_id, template, self._session)


T = TypeVar("T")


def edit_queue(study: Any, body: Callable[[QueueEdit], T], *, attempts: int = 5) -> T:
    """Run ``body`` on the study's queue in one transaction; return what it returns.

    The transaction first locks the study's row (PostgreSQL ``SELECT ... FOR UPDATE``, as
    Optuna does to number a new trial; SQLite: ``BEGIN IMMEDIATE``, see ``_open``): a count
    and the trials queued after it cannot interleave with another worker's. All or nothing:
    an interruption or a lost connection rolls the whole batch back. A deadlock is retried.
    Private: ``Study._storage``, ``Study._study_id``, the ORM models.
    """
    import sqlalchemy
    import sqlalchemy.orm
    from optuna.storages._rdb import models

    storage = study._storage
    backend = getattr(storage, "_backend", storage)
    for attempt in range(attempts):
        with sqlalchemy.orm.Session(backend.engine) as session:
            try:
                models.StudyModel.find_or_raise_by_id(study._study_id, session, for_update=True)
                result = body(QueueEdit(backend, session, study._study_id))
                session.commit()
                return result
            except sqlalchemy.exc.OperationalError:
                session.rollback()
                if attempt == attempts - 1 or not _deadlock(backend):
                    raise
            except BaseException:
                session.rollback()
                raise
        time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _deadlock(backend: Any) -> bool:
    """PostgreSQL may pick this transaction to break a deadlock: retry; SQLite waits instead."""
    return backend.engine.name != "sqlite"


def put_back(trial: Any) -> bool:
    """Return a live RUNNING ``Trial`` to the queue as it was queued; True when it is WAITING again.

    For a trial that a full disk interrupted: it did not fail, so it is not marked FAIL and
    copied (what a dead worker's trial gets) but made WAITING again in place, its intermediate
    values and heartbeat deleted. Its parameters stay, so it runs the same configuration with
    the same seed (Optuna's ``suggest`` returns a parameter the trial has). Nothing here makes
    the database grow: rows deleted, one row rewritten at the same size. On SQLite the rollback
    journal is a file beside the database, which a full disk may not hold: if the first try
    fails for that, the journal of this one small transaction is kept in memory instead
    (``PRAGMA journal_mode=MEMORY``; a crash during it could damage the file, a risk of
    milliseconds against losing the trial's place). Private: the ORM models, ``Trial._trial_id``.
    """
    engine, trial_id = rdb_engine(trial.study), trial._trial_id
    try:
        return _put_back(engine, trial_id, memory_journal=False)
    except Exception as exc:
        if engine.name != "sqlite" or not is_full(exc):
            raise
    return _put_back(engine, trial_id, memory_journal=True)


def _put_back(engine: Any, trial_id: int, *, memory_journal: bool) -> bool:
    import optuna
    import sqlalchemy
    from optuna.storages._rdb import models

    trial = models.TrialModel
    with engine.connect() as conn:
        raw = conn.connection.driver_connection  # lstmbench's SQLite: no transaction of its own
        journal = None
        if memory_journal:
            journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
            raw.execute("PRAGMA journal_mode=MEMORY")
        try:
            with conn.begin():
                for model in (models.TrialIntermediateValueModel, models.TrialHeartbeatModel):
                    conn.execute(sqlalchemy.delete(model).where(model.trial_id == trial_id))
                done = conn.execute(
                    sqlalchemy.update(trial)
                    .where(trial.trial_id == trial_id,
                           trial.state == optuna.trial.TrialState.RUNNING)
                    .values({trial.state: optuna.trial.TrialState.WAITING,
                             trial._datetime_start_utc: None}))
                return done.rowcount == 1
        finally:
            if journal is not None:
                raw.execute(f"PRAGMA journal_mode={journal}")
