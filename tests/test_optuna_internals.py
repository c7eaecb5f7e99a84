"""One test per use of Optuna's private API (storage/_optuna/): an Optuna release that moves
one of them fails here, by name, before a sweep meets it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import sqlalchemy

from lstmbench.storage import QueueEmpty, late_trials, open_storage, queue_only, queued_params, stored_state
from lstmbench.storage._optuna import optuna_schema_versions, rdb_engine

optuna.logging.set_verbosity(optuna.logging.ERROR)
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")


@pytest.fixture
def study(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'o.db'}", heartbeat=5)
    return optuna.create_study(study_name="internals", storage=storage)


def test_schema_versions_name_the_revision_a_new_storage_writes(study) -> None:
    head, known = optuna_schema_versions()
    with rdb_engine(study).connect() as conn:
        written = conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
    assert written == head
    assert head in known and len(known) > 1  # older revisions are known too (to name them)


def test_schema_versions_read_as_text_are_alembics() -> None:
    import optuna.storages._rdb as rdb

    from lstmbench.storage._optuna import _alembic_schema_versions

    folder = Path(rdb.__file__).parent / "alembic"
    assert optuna_schema_versions() == _alembic_schema_versions(folder)


def test_queue_only_takes_queued_trials_and_never_samples_one(study) -> None:
    queue_only(study)
    with pytest.raises(QueueEmpty):
        study.ask()
    assert study.trials == []  # nothing was created by the refused ask
    study.enqueue_trial({"x": 3})
    trial = study.ask()
    assert trial.suggest_int("x", 0, 9) == 3
    with pytest.raises(QueueEmpty):
        study.ask()


def test_queued_params_are_known_before_the_first_suggestion(study) -> None:
    study.enqueue_trial({"arm": "stateful", "units": 8})
    trial = study.ask()
    assert queued_params(trial) == {"arm": "stateful", "units": 8}
    trial.suggest_int("window", 1, 5)
    assert queued_params(trial)["window"] in range(1, 6)


def test_late_trials_reads_the_heartbeat_table(study) -> None:
    trial = study.ask()
    study._storage.record_heartbeat(trial._trial_id)
    assert late_trials(study, 3600) == []  # beat just now
    assert late_trials(study, -1) == [trial._trial_id]  # any beat is "late" by -1 s
    study.tell(trial, 1.0)
    assert late_trials(study, -1) == []  # only RUNNING trials count


def test_rdb_engine_is_none_for_a_storage_without_one() -> None:
    assert rdb_engine(optuna.create_study()) is None


def test_stored_state_reads_the_trial_from_the_storage(study) -> None:
    trial = study.ask()
    assert stored_state(trial) == optuna.trial.TrialState.RUNNING
    study.tell(trial, 1.0)
    assert stored_state(trial) == optuna.trial.TrialState.COMPLETE


def test_edit_queue_adds_counts_and_tags_trials_in_one_transaction(study) -> None:
    from lstmbench.storage import edit_queue

    def body(q):
        q.add({"arm": "stateful"}, {"sweep": "s1"})
        q.add({"arm": "stateless"}, {"sweep": "s1", "retry_of": 0})
        return q.waiting(), q.tagged("sweep", "s1", unless="retry_of")

    assert edit_queue(study, body) == (2, 1)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [{"arm": "stateful"},
                                                                  {"arm": "stateless"}]
    assert [t.number for t in waiting] == [0, 1]  # numbered as Optuna numbers them


def test_fixed_params_are_what_a_trial_was_queued_with(study) -> None:
    from lstmbench.storage import fixed_params

    study.enqueue_trial({"variant": "A", "seed": 3})
    assert fixed_params(study.trials[0]) == {"variant": "A", "seed": 3}


# --- a trial's writes in one transaction (storage/_optuna/_writes.py) ---------------------------

ATTRS = {"arm": "stateful", "chosen_blind": True, "seed": 7, "none": None, "nan": float("nan"),
         "inf": float("inf"), "ratio": 0.1 + 0.2, "big": 2**62, "text": "état ✓",
         "spec": {"model": {"units": 4, "window": None}, "seeds": [1, 2]}, "curve": [0.5, 1.0]}
VALUES = {1: 0.5, 2: float("nan"), 3: float("inf"), 0: float("-inf"), 4: 1 / 3}


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def any_study(request, tmp_path) -> optuna.Study:
    """A new study on SQLite, PostgreSQL, or in memory (where the writer uses the public API)."""
    if request.param == "memory":
        return optuna.create_study()
    url = (f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    return optuna.create_study(storage=open_storage(url, heartbeat=None))


def stored(trial: optuna.trial.FrozenTrial) -> tuple[str, str]:
    """The trial's user attributes and intermediate values, comparable with NaN in them."""
    return repr(sorted(trial.user_attrs.items())), repr(sorted(trial.intermediate_values.items()))


@pytest.mark.parametrize("upsert", ["one statement", "optuna's, a key each"])
def test_set_trial_attr_and_intermediate_value_without_commit_store_what_the_public_api_stores(
        any_study, upsert, monkeypatch) -> None:
    """SQLite and PostgreSQL: an upsert a table on Optuna's ORM models; other databases:
    ``RDBStorage._set_trial_attr_without_commit`` and ``_set_trial_intermediate_value_without_commit``.
    Flushes store what ``set_user_attr`` and ``report`` store one by one (JSON, NaN, overwrites)."""
    from lstmbench.storage import TrialWriter
    from lstmbench.storage._optuna import _writes

    if upsert == "one statement":
        monkeypatch.setattr(_writes, "ROWS_PER_STATEMENT", 2)  # and several statements
    else:
        monkeypatch.setattr(_writes, "_upsert_insert", lambda backend: None)
    later = {"seed": 8, "spec": None, "added": [1]}  # a second batch overwrites keys
    study = any_study
    one_by_one, batched = study.ask(), study.ask()
    for key, value in ATTRS.items():
        one_by_one.set_user_attr(key, value)
    for step, value in VALUES.items():
        one_by_one.report(value, step)
    for key, value in later.items():
        one_by_one.set_user_attr(key, value)
    writer = TrialWriter(batched)
    for step, value in VALUES.items():
        writer.report(value, step)
    writer.flush(ATTRS)
    assert writer.pending == {}
    writer.flush(later)
    study.tell(one_by_one, 1.0)
    study.tell(batched, 1.0)
    first, second = study.trials
    assert stored(second) == stored(first)
    again = optuna.load_study(study_name=study.study_name, storage=study._storage)  # re-read
    assert [stored(t) for t in again.trials] == [stored(first)] * 2
    assert list(again.trials[1].user_attrs) == list(again.trials[0].user_attrs)  # in order too


def test_create_scoped_session_writes_a_batch_in_one_commit(study) -> None:
    """``optuna.storages._rdb.storage._create_scoped_session``: one transaction, one commit."""
    import sqlalchemy.event

    from lstmbench.storage import TrialWriter

    engine = rdb_engine(study)
    commits: list[int] = []
    sqlalchemy.event.listen(engine, "commit", lambda conn: commits.append(1))
    trial = study.ask()
    writer = TrialWriter(trial)
    commits.clear()
    writer.flush({f"key{i}": i for i in range(40)})
    assert len(commits) == 1
    for epoch in range(1, 21):
        writer.report(1 / epoch, epoch)
    assert len(commits) == 1  # reported, not written
    writer.flush({"end": True})
    assert len(commits) == 2
    writer.flush()  # nothing to write: no transaction
    assert len(commits) == 2
    frozen = study._storage.get_trial(trial._trial_id)
    assert len(frozen.user_attrs) == 41 and len(frozen.intermediate_values) == 20


def test_cached_storage_backend_is_what_a_study_writes_to(study) -> None:
    """``_CachedStorage._backend``: the RDB storage behind a study; its cache then shows the
    writes of a trial that finished (it re-reads unfinished trials from the backend)."""
    from lstmbench.storage import TrialWriter
    from lstmbench.storage._optuna import rdb_backend

    assert isinstance(study._storage, optuna.storages._CachedStorage)
    assert isinstance(rdb_backend(study._storage), optuna.storages.RDBStorage)
    assert rdb_backend(optuna.create_study()._storage) is None  # in-memory: public API
    trial = study.ask()
    assert study.trials[0].user_attrs == {}  # the unfinished trial is in the cache now
    writer = TrialWriter(trial)
    writer.report(0.5, 1)
    writer.flush({"arm": "stateful"})
    assert study.trials[0].user_attrs == {"arm": "stateful"}
    study.tell(trial, 1.0)
    assert study.trials[0].user_attrs == {"arm": "stateful"}
    assert study.trials[0].intermediate_values == {1: 0.5}


def test_cached_frozen_trial_is_the_trials_own_view_of_the_writes(study) -> None:
    """``Trial._cached_frozen_trial``: after a flush, ``trial.user_attrs`` shows the attributes
    and ``Trial.report`` knows the steps written (it ignores them, as after its own report)."""
    from lstmbench.storage import TrialWriter

    trial = study.ask()
    writer = TrialWriter(trial)
    writer.report(0.25, 1)
    assert trial.user_attrs == {} and trial._cached_frozen_trial.intermediate_values == {}
    writer.flush({"sweep": "s1"})
    assert trial.user_attrs == {"sweep": "s1"}
    with pytest.warns(UserWarning, match="already reported"):
        trial.report(0.75, 1)
    with pytest.warns(UserWarning, match="already reported"):
        writer.report(0.75, 1)
    assert writer.pending == {}
    study.tell(trial, 1.0)
    assert study.trials[0].intermediate_values == {1: 0.25}  # the first value stays


def test_trial_writer_checks_a_report_as_trial_report_does(study) -> None:
    from lstmbench.storage import TrialWriter

    trial = study.ask()
    writer = TrialWriter(trial)
    for value, step, error in (("x", 1, TypeError), (None, 1, TypeError), (0.5, "one", TypeError),
                               (0.5, -1, ValueError)):
        with pytest.raises(error):
            trial.report(value, step)
        with pytest.raises(error):
            writer.report(value, step)
    writer.report("0.5", 2.0)  # what float() and int() take, as Optuna takes it
    with pytest.warns(UserWarning, match="already reported"):
        writer.report(0.9, 2)  # pending counts as reported: the first value stays
    assert writer.pending == {2: 0.5}
    multi = optuna.create_study(directions=["minimize", "minimize"],
                                storage=study._storage._backend)
    with pytest.raises(NotImplementedError):
        TrialWriter(multi.ask()).report(0.5, 1)


def test_a_flush_that_fails_writes_nothing_and_keeps_its_values_pending(study) -> None:
    from lstmbench.storage import TrialWriter

    trial = study.ask()
    writer = TrialWriter(trial)
    writer.report(0.5, 1)
    with pytest.raises(TypeError):  # not JSON: the whole batch is rolled back
        writer.flush({"fine": 1, "bad": object()})
    assert study._storage.get_trial(trial._trial_id).user_attrs == {}
    assert study._storage.get_trial(trial._trial_id).intermediate_values == {}
    assert writer.pending == {1: 0.5} and trial.user_attrs == {}
    writer.flush({"fine": 1})
    assert study._storage.get_trial(trial._trial_id).intermediate_values == {1: 0.5}
    study.tell(trial, 1.0)
    writer.report(0.25, 2)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        writer.flush({"late": True})
    assert study.trials[0].user_attrs == {"fine": 1}
    assert study.trials[0].intermediate_values == {1: 0.5}


def test_put_back_returns_a_running_trial_to_the_queue_as_it_was(study) -> None:
    """A trial a full disk interrupted: WAITING again in place, its curve and heartbeat gone,
    its parameters kept, so that Optuna hands it out again and it suggests the same values."""
    from lstmbench.storage import put_back

    study.enqueue_trial({"arm": "stateless"})
    trial = study.ask()
    assert trial.suggest_categorical("arm", ["stateful", "stateless"]) == "stateless"
    window = trial.suggest_int("window", 1, 1000)
    trial.report(0.5, 1)
    study._storage.record_heartbeat(trial._trial_id)

    def beats() -> int:
        with rdb_engine(study).connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT COUNT(*) FROM trial_heartbeats")).scalar()

    assert beats() == 1
    assert put_back(trial)
    (frozen,) = study.get_trials()
    assert (frozen.state.name, frozen.datetime_start, frozen.intermediate_values) == ("WAITING",
                                                                                     None, {})
    assert beats() == 0
    again = study.ask()
    assert again.number == trial.number and again.suggest_int("window", 1, 1000) == window
    study.tell(again, 1.0)
    assert not put_back(again)  # a finished trial stays as it is
    assert study.get_trials()[0].state.name == "COMPLETE"
