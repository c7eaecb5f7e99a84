"""Every use of Optuna's private API lives in this package, each with a test that fails by name
when an Optuna release moves it: ``tests/test_optuna_internals.py`` (this module, the queue
in ``_queue.py``, a trial's batched writes in ``_writes.py``) and ``tests/test_trials_reader.py``
(the reader of Optuna's tables in ``_trials.py``, compared with ``get_trials`` field by field).

Optuna moves its internals between releases (``Trial.system_attrs`` went in 5.0): when an
upgrade breaks one of these, nothing else in lstmbench needs to change. pyproject.toml pins
Optuna below its next major version.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

from lstmbench.storage._optuna._engine import rdb_backend, rdb_engine
from lstmbench.storage._optuna._queue import QueueEdit, edit_queue, put_back
from lstmbench.storage._optuna._trials import TrialRecord, read_trials, study_overview
from lstmbench.storage._optuna._writes import TrialWriter


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

    Private: the alembic scripts live in ``optuna/storages/_rdb/alembic/versions``. Each names
    its ``revision`` and ``down_revision`` in one line; those lines are read as text (alembic
    compiles every script: 60 ms of each start of every command). The head is the revision no
    other one follows. Scripts that do not read so are handed to alembic itself.
    """
    import optuna.storages._rdb as rdb

    folder = Path(rdb.__file__).parent / "alembic"
    revisions, downs = set(), set()
    for script in (folder / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision = _REVISION.search(text)
        down = _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return _alembic_schema_versions(folder)
        revisions.add(revision["name"])
        downs.add(down["name"])
    heads = revisions - downs
    if len(heads) != 1 or not downs - {None} <= revisions:
        return _alembic_schema_versions(folder)
    return heads.pop(), frozenset(revisions)


_REVISION = re.compile(r"""^revision\s*=\s*["'](?P<name>[^"']+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*(?:None|["'](?P<name>[^"']+)["'])\s*$""",
                            re.MULTILINE)


def _alembic_schema_versions(folder: Path) -> tuple[str, frozenset[str]]:
    """``optuna_schema_versions`` as alembic reads the scripts."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(folder))
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
    return {**fixed_params(frozen), **trial.params}


def fixed_params(frozen: Any) -> dict[str, Any]:
    """The parameters a ``FrozenTrial`` was queued with (``enqueue_trial``), suggested or not.

    Private: ``enqueue_trial`` keeps them in the ``fixed_params`` system attribute.
    """
    return dict(frozen.system_attrs.get("fixed_params", {}))


def stored_state(trial: Any) -> Any:
    """The ``TrialState`` the storage holds for a live ``Trial`` now (private: ``_trial_id``)."""
    return trial.study._storage.get_trial(trial._trial_id).state


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


__all__ = [
    "QueueEdit", "QueueEmpty", "TrialRecord", "TrialWriter", "edit_queue", "fixed_params", "late_trials",
    "optuna_schema_versions", "put_back", "queue_only", "queued_params", "quiet_optuna",
    "rdb_backend", "rdb_engine", "read_trials", "stored_state", "study_overview",
]
