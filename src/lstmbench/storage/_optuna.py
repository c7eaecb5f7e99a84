"""Every use of Optuna's private API, in one place, each with a test in tests/test_optuna_internals.py.

Optuna moves its internals between releases (``Trial.system_attrs`` went in 5.0): when an
upgrade breaks one of these, the test of that function fails by name, and nothing else in
lstmbench needs to change. pyproject.toml pins Optuna below its next major version.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar


class QueueEmpty(Exception):
    """Raised by a queue-only study's ``ask`` when no trial is WAITING."""


def quiet_optuna() -> None:
    """Optuna logs every failed trial with a traceback (Ctrl-C included); lstmbench reports
    failures itself, one line each. Heartbeat and TPE's ``group`` are "experimental" in
    Optuna's words; lstmbench relies on both."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def optuna_schema_versions() -> tuple[str, frozenset[str]]:
    """Return (head revision, every known revision) of the installed Optuna's storage schema.

    Private: the alembic scripts live in ``optuna/storages/_rdb/alembic``.
    """
    import optuna.storages._rdb as rdb
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(rdb.__file__).parent / "alembic"))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    assert head is not None
    return head, frozenset(r.revision for r in script.walk_revisions())


def queue_only(study: Any) -> None:
    """Make ``study.ask`` take queued trials only, never sample a new one.

    Between a worker seeing one WAITING trial and asking for it, another worker may take it;
    Optuna's ``ask`` would then create an extra trial nobody queued (one more than ``--trials``
    and an arm out of balance). ``ask`` pops the queue through the private
    ``Study._pop_waiting_trial_id``: when that finds nothing, raise :class:`QueueEmpty` instead.
    """
    pop = study._pop_waiting_trial_id  # an Optuna without it fails loudly here, and in its test

    def pop_or_raise() -> int:
        trial_id = pop()
        if trial_id is None:
            raise QueueEmpty
        return trial_id

    study._pop_waiting_trial_id = pop_or_raise


def queued_params(trial: Any) -> dict[str, Any]:
    """The configuration of ``trial``: what it was queued with, and what it has suggested since.

    A trial stopped before its first suggestion has only the queued part (its arm or variant).
    Optuna 5's ``Trial`` no longer shows system attributes, so the frozen trial is read from the
    storage (private: ``Trial._trial_id``, the ``fixed_params`` system attribute).
    """
    frozen = trial.study._storage.get_trial(trial._trial_id)
    return {**frozen.system_attrs.get("fixed_params", {}), **trial.params}


def stored_state(trial: Any) -> Any:
    """The ``TrialState`` the storage holds for a live ``Trial`` now (private: ``_trial_id``)."""
    return trial.study._storage.get_trial(trial._trial_id).state


def rdb_engine(study: Any) -> Any:
    """Return the SQLAlchemy engine behind ``study`` (None for a storage without one).

    Private: ``Study._storage``, the cached storage's ``_backend``, ``RDBStorage.engine``.
    """
    storage = study._storage
    storage = getattr(storage, "_backend", storage)  # a cached storage wraps the RDB one
    return getattr(storage, "engine", None)


def late_trials(study: Any, late_s: float) -> list[int]:
    """Return the ids of RUNNING trials of ``study`` whose last heartbeat is older than ``late_s``.

    Private: the ORM models of ``optuna.storages._rdb.models`` and ``Study._study_id``.
    """
    import optuna
    import sqlalchemy
    from optuna.storages._rdb import models

    engine = rdb_engine(study)
    if engine is None:
        return []
    with engine.connect() as conn:
        now = conn.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar()
        rows = conn.execute(
            sqlalchemy.select(models.TrialModel.trial_id, models.TrialHeartbeatModel.heartbeat)
            .join(models.TrialHeartbeatModel,
                  models.TrialHeartbeatModel.trial_id == models.TrialModel.trial_id)
            .where(models.TrialModel.study_id == study._study_id,
                   models.TrialModel.state == optuna.trial.TrialState.RUNNING)
        ).all()
    now = now.replace(tzinfo=None)  # as Optuna does: PostgreSQL answers with a time zone
    late = datetime.timedelta(seconds=late_s)
    return [trial_id for trial_id, beat in rows if now - beat > late]


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


def param_counts(study: Any, name: str, *, skip_states: tuple[Any, ...]) -> dict[Any, int]:
    """Return how many trials of ``study`` have each value of parameter ``name``.

    One grouped query instead of every trial's record. Private: the ORM models, the internal
    representation of a parameter (a float; a category's index in its distribution).
    """
    import optuna
    import sqlalchemy
    from optuna.storages._rdb import models

    trial, param = models.TrialModel, models.TrialParamModel
    with rdb_engine(study).connect() as conn:
        rows = conn.execute(
            sqlalchemy.select(param.param_value, param.distribution_json,
                              sqlalchemy.func.count(param.param_id))
            .join(trial, trial.trial_id == param.trial_id)
            .where(trial.study_id == study._study_id, param.param_name == name,
                   trial.state.not_in(skip_states))
            .group_by(param.param_value, param.distribution_json)
        ).all()
    counts: dict[Any, int] = {}
    for value, distribution, n in rows:
        external = optuna.distributions.json_to_distribution(distribution).to_external_repr(value)
        counts[external] = counts.get(external, 0) + n
    return counts
