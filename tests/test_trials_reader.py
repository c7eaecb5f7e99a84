"""The report's reader of Optuna's tables (``storage/_optuna/_trials.py``) against Optuna's own
``get_trials``, field by field, on SQLite and PostgreSQL: if Optuna changes its schema, this
fails by name before any report prints something wrong."""

from __future__ import annotations

import math

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from lstmbench.storage import open_storage, quiet_optuna, read_trials
from lstmbench.storage._optuna import study_overview

DISTRIBUTIONS = {
    "arm": CategoricalDistribution(["stateful", "stateless"]),
    "window": IntDistribution(1, 20),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "flag": CategoricalDistribution([True, False, None]),
}


def make_study(url: str) -> optuna.Study:
    quiet_optuna()
    study = optuna.create_study(study_name="r", storage=open_storage(url, heartbeat=None))
    other = optuna.create_study(study_name="other", storage=open_storage(url, heartbeat=None))
    other.add_trial(create_trial(value=1.0, params={"arm": "stateful"},
                                 distributions={"arm": DISTRIBUTIONS["arm"]}, user_attrs={"k": 1}))
    curve = [0.5, 0.75, 1.0]
    study.add_trials([
        create_trial(value=0.25, params={"arm": "stateless", "window": 7, "lr": 0.003, "flag": None},
                     distributions=DISTRIBUTIONS, intermediate_values={1: 0.5, 2: 0.25},
                     user_attrs={"converged": True, "spec": {"model": {"units": 8}},
                                 "val_accuracy": curve, "train_loss": curve, "seed": 3}),
        create_trial(value=math.inf, params={"arm": "stateful"},
                     distributions={"arm": DISTRIBUTIONS["arm"]}, user_attrs={"converged": False}),
        create_trial(value=-math.inf, params={"flag": True},
                     distributions={"flag": DISTRIBUTIONS["flag"]}),
        create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "NaN loss"}),
        create_trial(state=TrialState.PRUNED, value=None, params={"window": 20},
                     distributions={"window": DISTRIBUTIONS["window"]}),
        create_trial(state=TrialState.WAITING, system_attrs={"fixed_params": {"arm": "stateful"}}),
    ])
    study.ask()  # takes the WAITING trial: RUNNING
    study.ask()  # a new RUNNING trial
    return study


def test_reader_matches_optunas_get_trials(storage_url):
    study = make_study(storage_url)
    wanted = ("converged", "spec", "val_accuracy", "seed", "fail_reason", "missing")
    records = read_trials(study, wanted)
    frozen = study.get_trials(deepcopy=False)
    assert len(records) == len(frozen) == 7
    for record, t in zip(records, frozen):
        assert record.number == t.number
        assert record.state == t.state.name
        assert record.value == (t.value if t.values else None)
        assert record.params == t.params
        assert record.user_attrs == {k: v for k, v in t.user_attrs.items() if k in wanted}
    assert records[0].user_attrs["val_accuracy"] == [0.5, 0.75, 1.0]
    assert "train_loss" not in records[0].user_attrs  # not asked for: not read
    assert [r.state for r in records] == ["COMPLETE"] * 3 + ["FAIL", "PRUNED", "RUNNING", "RUNNING"]
    assert [r.value for r in records[:3]] == [0.25, math.inf, -math.inf]


def test_reader_sees_only_its_study_and_no_attributes_when_none_asked(storage_url):
    study = make_study(storage_url)
    records = read_trials(study, ())
    assert [r.number for r in records] == list(range(7))  # not the other study's trial
    assert all(r.user_attrs == {} for r in records)
    assert records[0].params == {"arm": "stateless", "window": 7, "lr": 0.003, "flag": None}


def test_reader_of_some_trials_reads_those_alone(storage_url):
    study = make_study(storage_url)
    every = read_trials(study, ("val_accuracy", "fail_reason"))
    some = read_trials(study, ("val_accuracy", "fail_reason"), numbers={3, 0, 99})
    assert [r.number for r in some] == [0, 3]  # 99 is no trial of the study
    assert some == [every[0], every[3]]
    assert read_trials(study, (), numbers=()) == []


def test_overview_matches_optunas_study_summaries(storage_url):
    study = make_study(storage_url)
    study.set_user_attr("mark", 1)
    optuna.create_study(study_name="empty", storage=open_storage(storage_url, heartbeat=None))
    rdb = open_storage(storage_url, heartbeat=None)
    overview = study_overview(rdb, "mark")
    summaries = optuna.get_all_study_summaries(rdb, include_best_trial=False)
    assert [(o.study_name, o.marked, o.n_trials, o.datetime_start) for o in overview] == [
        (s.study_name, "mark" in s.user_attrs, s.n_trials, s.datetime_start) for s in summaries]
    assert [(o.study_name, o.n_trials) for o in overview] == [("r", 7), ("other", 1), ("empty", 0)]
