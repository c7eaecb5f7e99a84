"""A study's trials read straight from Optuna's tables: what a reader needs, nothing more.

Optuna's ``get_trials`` builds a complete ``FrozenTrial`` for every trial: every user attribute
(per-epoch curves included), every intermediate value, each parameter's distribution parsed
again. For 10,000 trials that is most of ``lstmbench report``'s time. Here: one read-only
transaction (a consistent snapshot), one query per table (trials, values, parameters, and
only the named user attributes), each distinct distribution parsed once.

Private: Optuna's schema, through the ORM models of ``optuna.storages._rdb.models``. The test
``tests/test_trials_reader.py`` compares the result with ``get_trials`` field by field, on
SQLite and PostgreSQL: an Optuna that changes its tables fails it by name.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from lstmbench.storage._optuna._engine import rdb_engine


@dataclass(frozen=True)
class TrialRecord:
    """One trial as a reader sees it: ``user_attrs`` holds only the attributes asked for."""

    number: int
    state: str  # Optuna's TrialState name: COMPLETE, FAIL, PRUNED, RUNNING, WAITING
    value: float | None  # the first objective's value; None when the trial has none
    params: dict[str, Any] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)


def read_trials(study: Any, user_attrs: Collection[str],
                numbers: Collection[int] | None = None) -> list[TrialRecord]:
    """Return the trials of an Optuna ``study`` by number, with the user attributes named;
    ``numbers``: only the trials of these numbers."""
    import sqlalchemy
    from optuna.distributions import json_to_distribution
    from optuna.storages._rdb import models

    engine = _reader(rdb_engine(study))
    trial = models.TrialModel
    mine = trial.study_id == study._study_id
    if numbers is not None:
        mine = sqlalchemy.and_(mine, trial.number.in_(sorted(numbers)))
    try:
        with engine.connect() as conn:
            if engine.name == "postgresql":  # one snapshot for the four queries
                conn.exec_driver_sql("SET TRANSACTION READ ONLY ISOLATION LEVEL REPEATABLE READ")
            rows = _fetch(conn, sqlalchemy.select(trial.trial_id, trial.number, trial.state)
                          .where(mine).order_by(trial.number))
            value = models.TrialValueModel
            values = _fetch(conn, _of_study(value, mine, value.objective == 0, "value", "value_type"))
            params = _fetch(conn, _of_study(models.TrialParamModel, mine, None, "param_name",
                                            "param_value", "distribution_json"))
            attr = models.TrialUserAttributeModel
            attrs = _fetch(conn, _of_study(attr, mine, attr.key.in_(list(user_attrs)),
                                           "key", "value_json")) if user_attrs else []
    finally:
        engine.dispose()
    records = {trial_id: TrialRecord(number=number, state=_state_name(state), value=None)
               for trial_id, number, state in rows}
    kinds = models.TrialValueModel.TrialValueType
    value_of = {tid: models.TrialValueModel.stored_repr_to_value(v, _enum(kinds, t))
                for tid, v, t in values}
    distributions: dict[str, Any] = {}
    for tid, name, internal, dist_json in params:
        if dist_json not in distributions:
            distributions[dist_json] = json_to_distribution(dist_json)
        if tid in records:
            records[tid].params[name] = distributions[dist_json].to_external_repr(internal)
    # One parse of every value as one JSON array: json.loads per value cost 10,000 trials x 30
    # attributes x ~4 us of Python around the C scanner (the largest part of the read).
    parsed = json.loads("[" + ",".join(value_json for _, _, value_json in attrs) + "]")
    for (tid, key, _), value in zip(attrs, parsed):
        if tid in records:
            records[tid].user_attrs[key] = value
    return [TrialRecord(r.number, r.state, value_of.get(tid), r.params, r.user_attrs)
            for tid, r in records.items()]


def _of_study(model: Any, trials: Any, condition: Any, *columns: str) -> Any:
    """SELECT trial_id and ``columns`` of ``model``'s rows that belong to the ``trials`` (a
    condition on Optuna's trials table)."""
    import sqlalchemy
    from optuna.storages._rdb import models

    trial = models.TrialModel
    query = (sqlalchemy.select(model.trial_id, *(getattr(model, c) for c in columns))
             .join(trial, trial.trial_id == model.trial_id).where(trials))
    return query if condition is None else query.where(condition)


def _fetch(conn: Any, query: Any) -> list[tuple[Any, ...]]:
    """The rows of ``query`` from the driver's own cursor, as plain tuples.

    SQLAlchemy's rows cost ~1 us each in Python (a third of the read of 10,000 trials, whose
    user attributes are ~300,000 rows); its type conversions are not needed here (enums come
    back as their names: see ``_enum``). The query's values are numbers and attribute names
    of lstmbench's own, rendered into the SQL by the dialect.
    """
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _enum(kind: Any, stored: Any) -> Any:
    """A stored enum as SQLAlchemy would give it: its member, from the name the driver returns."""
    return stored if isinstance(stored, kind) else kind[stored]


def _state_name(state: Any) -> str:
    return getattr(state, "name", str(state))


def _reader(engine: Any) -> Any:
    """A separate engine that only reads: no write lock taken (lstmbench's SQLite engines
    begin every transaction with ``BEGIN IMMEDIATE``), nothing kept open afterwards."""
    import sqlalchemy

    kwargs: dict[str, Any] = {"poolclass": sqlalchemy.pool.NullPool}
    if engine.name == "sqlite":
        kwargs["connect_args"] = {"timeout": 120}  # wait out a writer's commit, do not fail
    reader = sqlalchemy.create_engine(engine.url, **kwargs)
    if engine.name == "sqlite":
        @sqlalchemy.event.listens_for(reader, "connect")
        def _query_only(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")
    return reader


@dataclass(frozen=True)
class StudyOverview:
    """A study as a listing shows it; ``marked`` when it carries the user attribute asked for."""

    study_name: str
    marked: bool
    n_trials: int
    datetime_start: Any  # the first trial's start (None before any)


def study_overview(rdb: Any, marker: str) -> list[StudyOverview]:
    """Return every study of an ``RDBStorage`` by id: name, marker, trial count, first start.

    Optuna's ``get_all_study_summaries`` reads every trial of every study to count them (30 s
    for 10,000 trials); this is three grouped queries.
    """
    import sqlalchemy
    from optuna.storages._rdb import models

    study, trial, attr = models.StudyModel, models.TrialModel, models.StudyUserAttributeModel
    engine = _reader(rdb.engine)
    try:
        with engine.connect() as conn:
            names = conn.execute(sqlalchemy.select(study.study_id, study.study_name)
                                 .order_by(study.study_id)).all()
            marked = set(conn.execute(sqlalchemy.select(attr.study_id)
                                      .where(attr.key == marker)).scalars())
            counts = {sid: (n, start) for sid, n, start in conn.execute(
                sqlalchemy.select(trial.study_id, sqlalchemy.func.count(trial.trial_id),
                                  sqlalchemy.func.min(trial._datetime_start_utc))
                .group_by(trial.study_id))}
    finally:
        engine.dispose()
    return [StudyOverview(name, sid in marked, counts.get(sid, (0,))[0],
                          _local(counts.get(sid, (0, None))[1])) for sid, name in names]


def _local(utc: Any) -> Any:
    """A stored naive UTC time as Optuna shows it: naive local time."""
    import datetime

    if utc is None:
        return None
    return utc.replace(tzinfo=datetime.timezone.utc).astimezone().replace(tzinfo=None)
