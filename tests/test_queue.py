"""The queue: a sweep records its plan and workers queue it a few at a time, each planned trial
once, arms balanced, whatever N; --timeout then --trials 0 finishes the plan exactly."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter

import optuna
import pytest
from rich.console import Console

from _sweeps import LONG, LONG_EPOCHS, TINY, trials, write_spec
from lstmbench.spec import load_study_spec
from lstmbench.storage import QueueEdit, open_storage, quiet_optuna
from lstmbench.study import run_sweep
from lstmbench.study._queue import BATCH, _balance, not_queued, open_plans, queue_trials, top_up
from lstmbench.study._study import SWEEP, create_or_join


def new_study(tmp_path, url: str) -> tuple[optuna.Study, object]:
    quiet_optuna()
    spec = load_study_spec(str(write_spec(tmp_path, TINY, "tiny")))
    return create_or_join(open_storage(url, heartbeat=None), "tiny", spec), spec


def test_a_big_sweep_records_its_plan_and_queues_only_a_batch(tmp_path, storage_url):
    study, spec = new_study(tmp_path, storage_url)
    sweep, n = queue_trials(study, spec, 100_000)
    assert n == 100_000 and trials(storage_url, "tiny") == []
    assert open_plans(study)[sweep]["n"] == 100_000
    assert top_up(study) == BATCH
    queued = trials(storage_url, "tiny")
    assert [t.system_attrs["fixed_params"]["arm"] for t in queued] == ["stateful", "stateless"] * (BATCH // 2)
    assert not_queued(study) == {sweep: 100_000 - BATCH}
    assert top_up(study) == BATCH  # enough waiting: nothing more queued


def test_arms_are_balanced_against_the_trials_before():
    arms = ("stateful", "stateless")
    assert _balance({"stateful": 5, "stateless": 2}, arms) == ["stateless"] * 3
    assert _balance({"stateless": 1}, arms) == ["stateful"]
    assert _balance({}, arms) == []


def test_an_interrupted_batch_queues_nothing(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    study, spec = new_study(tmp_path, url)
    sweep, _ = queue_trials(study, spec, 10)
    real, calls = QueueEdit.add, []

    def add_then_interrupt(self, params, user_attrs):
        calls.append(params)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a batch
        real(self, params, user_attrs)

    monkeypatch.setattr(QueueEdit, "add", add_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        top_up(study)
    assert trials(url, "tiny") == []  # the first trial of the batch was rolled back too
    monkeypatch.setattr(QueueEdit, "add", real)
    assert top_up(study) == BATCH and not_queued(study) == {sweep: 10 - BATCH}


# A worker of the race below: queue from the plan and take trials until the plan is done.
WORKER = """\
import sys
import optuna
from lstmbench.storage import QueueEmpty, open_storage, queue_only, quiet_optuna
from lstmbench.study._queue import top_up
quiet_optuna()
study = optuna.load_study(study_name="tiny", storage=open_storage(sys.argv[1], heartbeat=None))
queue_only(study)
while top_up(study, keep=2, batch=3):
    try:
        study.optimize(lambda t: t.suggest_categorical("arm", ["stateful", "stateless"]) and 0.0,
                       n_trials=1)
    except QueueEmpty:
        continue
"""


def test_concurrent_workers_queue_each_planned_trial_once(tmp_path, storage_url):
    study, spec = new_study(tmp_path, storage_url)
    sweep, _ = queue_trials(study, spec, 31)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, storage_url], stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    done = trials(storage_url, "tiny")
    assert len(done) == 31 and {t.state.name for t in done} == {"COMPLETE"}
    assert {t.user_attrs[SWEEP] for t in done} == {sweep}
    assert Counter(t.params["arm"] for t in done) == {"stateful": 16, "stateless": 15}
    assert not_queued(study) == {} and open_plans(study) == {}


@pytest.mark.slow
def test_timeout_stops_the_sweep_and_trials_0_finishes_its_plan(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    # Trials that cannot converge (each runs its whole budget), 1,500 epochs: 4 of them take
    # seconds on any machine, more than the 2 s timeout.
    spec = str(write_spec(tmp_path, LONG.replace(f"epochs = {LONG_EPOCHS}", "epochs = 1500"),
                          "long"))
    out = io.StringIO()
    first = run_sweep(trials=4, spec=spec, storage=url, jobs=1, timeout=2.0,
                      console=Console(file=out, width=200))
    assert first.exit_code == 0 and first.complete + first.left == 4, out.getvalue()
    assert first.left > 0 and f"timeout: {first.left} trials left queued" in out.getvalue()
    stopped = [t for t in trials(url, "long") if t.state.name == "FAIL"]
    assert {t.user_attrs["fail_reason"] for t in stopped} <= {"stopped at the sweep's --timeout"}

    second = run_sweep(trials=0, spec=spec, storage=url, jobs=1, quiet=True)
    assert (second.exit_code, second.left) == (0, 0)
    every = trials(url, "long")
    complete = [t for t in every if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and {t.params["arm"] for t in complete} == {"stateless"}
    assert sum("retry_of" not in t.user_attrs for t in every) == 4  # each planned trial once
    assert {t.state.name for t in every} <= {"COMPLETE", "FAIL"}


def test_variants_are_queued_seed_by_seed_across_the_variants(tmp_path):
    quiet_optuna()
    text = "\n".join(f'[[variants]]\nname = "{name}"\narm = "{name}"\nstateful = true\ntimesteps = 2\n'
                     f"batch_size = 5\nunits = 4\nseeds = {seeds}\n"
                     for name, seeds in (("A", [0, 1]), ("B", [5, 6, 7])))
    spec = load_study_spec(str(write_spec(tmp_path, TINY.split("[space]")[0] + text, "ab")))
    study = create_or_join(open_storage(f"sqlite:///{tmp_path / 'ab.db'}", heartbeat=None), "ab", spec)
    sweep, n = queue_trials(study, spec, None)
    assert n == 5
    assert open_plans(study)[sweep]["todo"] == [["A", 0], ["B", 5], ["A", 1], ["B", 6], ["B", 7]]


def test_long_trials_cannot_converge(tmp_path):
    """The tests that need a trial mid-way rely on it: LONG's windows (1..3 steps of 4) never see
    the first bit, so no seed's validation set lets a trial reach the target and stop early."""
    from lstmbench.tasks import ceiling, make_task

    spec = load_study_spec(str(write_spec(tmp_path, LONG, "long")))
    low, high = spec.window_range(spec.task.seq_len)
    assert spec.space.arms == ("stateless",) and high < spec.task.seq_len
    best = max(ceiling(spec.task.seq_len, w, make_task(spec.task, seed).y_val.mean())
               for seed in range(1000) for w in range(low, high + 1))
    assert best < spec.train.target, best
