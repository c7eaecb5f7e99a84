"""One test per use of Optuna's private API (storage/_optuna/): an Optuna release that moves
one of them fails here, by name, before a sweep meets it."""

from __future__ import annotations

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
    from lstmbench.storage import edit_queue, param_counts

    def body(q):
        q.add({"arm": "stateful"}, {"sweep": "s1"})
        q.add({"arm": "stateless"}, {"sweep": "s1", "retry_of": 0})
        return q.waiting(), q.tagged("sweep", "s1", unless="retry_of")

    assert edit_queue(study, body) == (2, 1)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [{"arm": "stateful"},
                                                                  {"arm": "stateless"}]
    assert [t.number for t in waiting] == [0, 1]  # numbered as Optuna numbers them
    for _ in range(2):
        trial = study.ask()
        trial.suggest_categorical("arm", ["stateful", "stateless"])
        study.tell(trial, 1.0)
    assert param_counts(study, "arm", skip_states=()) == {"stateful": 1, "stateless": 1}
    assert param_counts(study, "arm", skip_states=(optuna.trial.TrialState.COMPLETE,)) == {}


def test_fixed_params_are_what_a_trial_was_queued_with(study) -> None:
    from lstmbench.storage import fixed_params

    study.enqueue_trial({"variant": "A", "seed": 3})
    assert fixed_params(study.trials[0]) == {"variant": "A", "seed": 3}
