"""A running trial's user attributes and intermediate values, written in one transaction.

Optuna's ``Trial.set_user_attr`` and ``Trial.report`` commit one row each: on SQLite a commit
is a file sync (~4 ms), and a trial of lstmbench writes some 40 attributes and an intermediate
value per epoch. :class:`TrialWriter` keeps ``report``'s checks where it is called and writes
what it was given, with any user attributes, in one transaction when asked. Measured against
Optuna's public API (``bench/sweep.py --variants as-is,public-writes``, a default sweep of 50
trials, 2 workers): the public writes cost 12 % more CPU and 12 % more wall time, more than this
module costs to keep (bench/results/sweep_variants.json).

Private: ``Study._storage``, the cached storage's ``_backend``,
``optuna.storages._rdb.storage._create_scoped_session``, Optuna's ORM models (SQLite and
PostgreSQL: one upsert statement a table, as Optuna's own writes of a row do), ``RDBStorage``'s
``_set_trial_attr_without_commit`` and ``_set_trial_intermediate_value_without_commit`` (other
databases: Optuna's writes, a row each), ``Trial._trial_id`` and the trial's own view
``Trial._cached_frozen_trial``. Storages other than RDB (in-memory, journal) are written
through the public API, one value at a time.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

from lstmbench.storage._optuna._engine import rdb_backend


class TrialWriter:
    """Writes of one running Optuna ``Trial``, batched: :meth:`report` now, :meth:`flush` later."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self._pending: dict[int, float] = {}
        self.flushed_at = time.monotonic()

    @property
    def pending(self) -> dict[int, float]:
        """The intermediate values reported since the last flush, by step."""
        return dict(self._pending)

    def report(self, value: float, step: int) -> None:
        """Keep ``value`` for ``step`` until the next :meth:`flush`, checked as ``Trial.report``
        checks it: a number, a non-negative int step; a step reported before is ignored with a
        warning (the first value stays). NaN and infinities are stored, as Optuna stores them.
        """
        if len(self.trial.study.directions) > 1:
            raise NotImplementedError("Trial.report is not supported for multi-objective optimization.")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"The `value` argument is of type '{type(value)}' but supposed to "
                            "be a float.") from None
        try:
            step = int(step)
        except (TypeError, ValueError):
            raise TypeError(f"The `step` argument is of type '{type(step)}' but supposed to "
                            "be an int.") from None
        if step < 0:
            raise ValueError(f"`{step=}` must be non-negative.")
        if step in self._pending or step in self.trial._cached_frozen_trial.intermediate_values:
            warnings.warn(f"The reported value is ignored because this `{step=}` is already "
                          "reported.", UserWarning, stacklevel=2)
            return
        self._pending[step] = value

    def flush(self, user_attrs: Mapping[str, Any] | None = None) -> None:
        """Write the pending intermediate values and ``user_attrs`` in one transaction.

        All or nothing: a value that is not JSON, a finished trial (``UpdateFinishedTrialError``)
        or a lost database writes none of them, and the pending values stay pending. Then the
        trial's own view (``trial.user_attrs``, its intermediate values) shows them, as after
        ``set_user_attr`` and ``report``. Nothing to write: no transaction.
        """
        attrs = dict(user_attrs or {})
        values = dict(self._pending)
        if attrs or values:
            backend = rdb_backend(self.trial.study._storage)
            if backend is None:
                self._write_one_by_one(attrs, values)
            else:
                _write_in_one_transaction(backend, self.trial._trial_id, attrs, values)
                frozen = self.trial._cached_frozen_trial
                frozen.user_attrs.update(attrs)
                frozen.intermediate_values.update(values)
        self._pending.clear()
        self.flushed_at = time.monotonic()

    def _write_one_by_one(self, attrs: dict[str, Any], values: dict[int, float]) -> None:
        for key, value in attrs.items():
            self.trial.set_user_attr(key, value)
        for step, value in values.items():
            self.trial.report(value, step)


def _write_in_one_transaction(backend: Any, trial_id: int, attrs: dict[str, Any],
                              values: dict[int, float]) -> None:
    # In one of Optuna's sessions: its error wrapping (StorageInternalError). Unlike
    # set_user_attr, an IntegrityError is raised, not ignored: that would drop the whole batch.
    import json

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    attr, step = models.TrialUserAttributeModel, models.TrialIntermediateValueModel
    insert = _upsert_insert(backend)
    with _create_scoped_session(backend.scoped_session) as session:
        if insert is None:  # MySQL, an SQLite before 3.24, others: Optuna's writes, a row each
            for key, value in attrs.items():
                backend._set_trial_attr_without_commit(session, attr, trial_id, key, value)
            for number, value in values.items():
                backend._set_trial_intermediate_value_without_commit(session, trial_id, number,
                                                                     value)
            return
        # What those two do, a statement a table instead of two or three a row (each ~1.5 ms of
        # SQLAlchemy; a trial writes ~40 attributes): check the trial once, then upsert.
        trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
        backend.check_trial_is_updatable(trial_id, trial.state)
        _upsert(session, insert, attr, ("trial_id", "key"), [
            {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
            for key, value in attrs.items()])
        _upsert(session, insert, step, ("trial_id", "step"), [
            dict(zip(("trial_id", "step", "intermediate_value", "intermediate_value_type"),
                     (trial_id, number, *step.intermediate_value_to_stored_repr(value))))
            for number, value in values.items()])


ROWS_PER_STATEMENT = 200  # at most 4 bound values a row: under SQLite's oldest limit of 999


def _upsert(session: Any, insert: Any, model: Any, unique: tuple[str, ...],
            rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``; a row whose ``unique`` columns exist already updates the other columns."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start:start + ROWS_PER_STATEMENT]
        statement = insert(model).values(chunk)
        session.execute(statement.on_conflict_do_update(
            index_elements=[getattr(model, column) for column in unique],
            set_={column: getattr(statement.excluded, column)
                  for column in chunk[0] if column not in unique}))


def _upsert_insert(backend: Any) -> Any:
    """The ``insert`` with ``on_conflict_do_update`` of the backend's database, or None."""
    import sqlite3

    if backend.engine.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    if backend.engine.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):
        from sqlalchemy.dialects.sqlite import insert

        return insert
    return None
