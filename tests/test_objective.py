"""The objective's storage writes: a trial's user attributes in a transaction at its start and one
at its end, its learning curve kept and written with them (without a pruner), and nothing lost
when a trial fails. Real training of a tiny spec, a real SQLite file; the validation accuracy of
each epoch is scripted, so the stored curve is known."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import optuna
import pytest
import sqlalchemy.event

from _sweeps import TINY, trials, write_spec
from lstmbench.errors import TrainingDiverged
from lstmbench.spec import load_study_spec
from lstmbench.storage import open_storage, quiet_optuna
from lstmbench.storage._optuna import rdb_engine
from lstmbench.study._objective import make_objective, result_attrs
from lstmbench.study._signals import TIME_UP, TimeUp
from lstmbench.study._study import create_or_join

THREE_EPOCHS = TINY.replace("replicates = 2", "replicates = 1\nstop_at_convergence = false")
ACCURACY = {1: 0.5, 2: 0.625, 3: 0.75}  # what each epoch reports (error: 1 - accuracy)
CURVE = {epoch: 1.0 - accuracy for epoch, accuracy in ACCURACY.items()}
NEVER = 3600.0  # flush_s: no flush on time within a test


@dataclass
class Script:
    """What the patched ``run_trial`` does around each epoch's ``on_epoch``."""

    url: str
    pause: dict[int, float] = field(default_factory=dict)  # seconds to wait before on_epoch
    fail: BaseException | None = None  # raised after on_epoch of epoch 2
    visible: list[int] = field(default_factory=list)  # stored epochs right after each on_epoch
    result: Any = None


@pytest.fixture
def script(tmp_path, monkeypatch) -> Script:
    import lstmbench.trial

    real = lstmbench.trial.run_trial
    script = Script(url=f"sqlite:///{tmp_path / 'objective.db'}")

    def run_trial(spec, *, on_epoch, **kwargs):
        def scripted(epoch, val_accuracy, train_loss):
            time.sleep(script.pause.get(epoch, 0.0))
            on_epoch(epoch, ACCURACY[epoch], train_loss)
            (trial,) = [t for t in trials(script.url, "objective")  # another connection's view
                        if t.state.name == "RUNNING"]
            script.visible.append(len(trial.intermediate_values))
            if epoch == 2 and script.fail is not None:
                raise script.fail

        script.result = real(spec, on_epoch=scripted, **kwargs)
        return script.result

    monkeypatch.setattr(lstmbench.trial, "run_trial", run_trial)
    return script


def run(script: Script, tmp_path, *, flush_s: float = NEVER, pruner: str = "none",
        prepare: Any = None) -> tuple[optuna.Study, list[set[str]]]:
    """Run one trial of the three-epoch spec; return the study and the tables each committed
    transaction of the trial wrote user attributes or intermediate values to."""
    quiet_optuna()
    text = THREE_EPOCHS + (f'pruner = "{pruner}"\n' if pruner != "none" else "")
    spec = load_study_spec(str(write_spec(tmp_path, text, "objective")))
    study = create_or_join(open_storage(script.url, heartbeat=None), "objective", spec)
    if prepare is not None:
        prepare(study)
    # Optuna re-raises a KeyboardInterrupt once the trial is FAIL
    with attr_writes(rdb_engine(study)) as writes, contextlib.suppress(KeyboardInterrupt):
        study.optimize(make_objective(spec, flush_s=flush_s), n_trials=1, catch=(Exception,))
    return study, writes


@contextlib.contextmanager
def attr_writes(engine: Any) -> Iterator[list[set[str]]]:
    tables = ("trial_user_attributes", "trial_intermediate_values")
    writes: list[set[str]] = []
    current: set[str] = set()

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            current.update(t for t in tables if f" {t} " in f" {statement} ".replace("\n", " "))

    def on_commit(conn) -> None:
        if current:
            writes.append(set(current))
        current.clear()

    def on_rollback(conn) -> None:
        current.clear()

    listeners = (("before_cursor_execute", on_execute), ("commit", on_commit),
                 ("rollback", on_rollback))
    for name, fn in listeners:
        sqlalchemy.event.listen(engine, name, fn)
    try:
        yield writes
    finally:
        for name, fn in listeners:
            sqlalchemy.event.remove(engine, name, fn)


def only_trial(script: Script, state: str = "COMPLETE") -> optuna.trial.FrozenTrial:
    """The trial the objective ran (not a queued retry, nor a trial added for the pruner)."""
    ran = [t for t in trials(script.url, "objective") if "arm" in t.params]
    assert len(ran) == 1 and ran[0].state.name == state, ran
    return ran[0]


ATTRS, VALUES, BOTH = ({"trial_user_attributes"}, {"trial_intermediate_values"},
                       {"trial_user_attributes", "trial_intermediate_values"})


def test_a_trial_writes_its_attributes_in_two_transactions_and_its_curve_with_them(script,
                                                                                    tmp_path):
    _, writes = run(script, tmp_path)
    # start: every attribute; epoch 1 at once (the dashboard sees the trial training); end:
    # the result with epochs 2 and 3
    assert writes == [ATTRS, VALUES, BOTH]
    assert script.visible == [1, 1, 1]
    trial = only_trial(script)
    assert trial.intermediate_values == pytest.approx(CURVE)
    # what set_user_attr would have stored, key by key: the result over the start's attributes
    expected = json.loads(json.dumps(result_attrs(script.result)))
    assert set(trial.user_attrs) == set(expected) | {"arm", "chosen_blind", "worker"}
    assert {key: trial.user_attrs[key] for key in expected} == expected
    assert trial.user_attrs["arm"] == trial.params["arm"] and trial.user_attrs["chosen_blind"]


def test_a_long_trial_writes_its_curve_every_flush_s(script, tmp_path):
    script.pause = {3: 0.4}  # epoch 3 ends more than flush_s after the last flush
    run(script, tmp_path, flush_s=0.3)
    assert script.visible[0] == 1 and script.visible[2] == 3  # epoch 2: flushed or not, by time
    assert only_trial(script).intermediate_values == pytest.approx(CURVE)


def test_every_epoch_flushed_when_flush_s_is_zero(script, tmp_path):
    _, writes = run(script, tmp_path, flush_s=0.0)
    assert script.visible == [1, 2, 3]
    assert writes == [ATTRS, VALUES, VALUES, VALUES, ATTRS]


@pytest.mark.parametrize(("fail", "reason", "retried"), [
    (KeyboardInterrupt(), "interrupted (Ctrl-C or SIGTERM)", True),
    (TimeUp(TIME_UP), TIME_UP, True),
    (TrainingDiverged("train loss became nan in epoch 2"), "train loss became nan in epoch 2", False),
    (RuntimeError("out of memory (simulated)"), "RuntimeError: out of memory (simulated)", False),
], ids=["ctrl-c", "timeout", "diverged", "error"])
def test_a_failed_trial_writes_the_epochs_it_ran_with_its_fail_reason(script, tmp_path, fail,
                                                                      reason, retried):
    script.fail = fail
    study, writes = run(script, tmp_path)
    assert script.visible == [1, 1]  # epoch 2 was pending when the trial failed
    assert writes[:3] == [ATTRS, VALUES, BOTH]  # then a retry's queued attributes, if any
    trial = only_trial(script, "FAIL")
    assert trial.intermediate_values == pytest.approx({1: CURVE[1], 2: CURVE[2]})
    assert trial.user_attrs["fail_reason"] == reason and "spec" in trial.user_attrs
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.user_attrs.get("retry_of") for t in waiting] == ([trial.number] if retried else [])


def test_with_a_pruner_every_epoch_is_reported_at_once_and_can_prune(script, tmp_path):
    def five_better_trials(study: optuna.Study) -> None:
        for _ in range(5):
            study.add_trial(optuna.trial.create_trial(value=1.0, intermediate_values={1: 0.0,
                                                                                      2: 0.0, 3: 0.0}))

    _, writes = run(script, tmp_path, pruner="median", prepare=five_better_trials)
    assert script.visible == [1]  # MedianPruner(n_warmup_steps=2): pruned in epoch 2's on_epoch
    assert writes == [ATTRS, VALUES, VALUES, ATTRS]  # the last: pruned_at_epoch
    trial = only_trial(script, "PRUNED")
    assert trial.intermediate_values == pytest.approx({1: CURVE[1], 2: CURVE[2]})
    assert trial.user_attrs["pruned_at_epoch"] == 2


# Two fixed configurations on first-bit (4 steps): stateful chunks of 2 that learn the bit in a
# few epochs, and stateless windows of 1 that cannot see it (no seed converges).
BOTH_KINDS = TINY.split("[space]")[0].replace("epochs = 3", "epochs = 40") + """
[[variants]]
name = "learns"
stateful = true
timesteps = 2
batch_size = 5
units = 4
seeds = [0]

[[variants]]
name = "cannot"
stateful = false
window = 1
batch_size = 10
units = 4
seeds = [0]
"""


def test_the_objective_value_optuna_stores_is_the_one_the_objective_defines(tmp_path):
    """What Optuna keeps as each trial's value, recomputed from the trial's stored result: log10
    of the time to solution; where no seed converged, log10 of all training seconds plus the
    penalty scaled by the miss. And the converged trial ranks first."""
    from lstmbench.study import run_sweep

    url = f"sqlite:///{tmp_path / 'values.db'}"
    spec = write_spec(tmp_path, BOTH_KINDS, "values")
    outcome = run_sweep(trials=None, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert outcome.complete == 2, outcome
    penalty, target = 100.0, 0.99  # the spec's defaults
    by_variant = {t.user_attrs["variant"]: t for t in trials(url, "values")}
    learns, cannot = by_variant["learns"], by_variant["cannot"]

    assert learns.user_attrs["converged_share"] == 1.0, learns.user_attrs["best_val_accuracy"]
    assert learns.value == pytest.approx(math.log10(learns.user_attrs["time_to_solution_s"]),
                                         rel=1e-12)
    assert cannot.user_attrs["time_to_solution_s"] is None
    assert "median_epoch" not in cannot.user_attrs  # absent, not null: plottable on the dashboard
    miss = 1 + target - cannot.user_attrs["best_val_accuracy"]
    seconds = sum(cannot.user_attrs["train_ms"]) / 1e3 + penalty * miss
    assert cannot.value == pytest.approx(math.log10(seconds), rel=1e-12)
    assert learns.value < 2 <= cannot.value  # converged: ranked before, below the penalty


def test_a_study_whose_trials_scored_seconds_is_not_joined(tmp_path):
    """A study of an earlier lstmbench (objective in seconds, not named) with trials: new log10
    values cannot be ranked with them, so joining it is refused with a way out. Without
    trials (a study being set up) the objective is just named."""
    from lstmbench.errors import UserError
    from lstmbench.storage import SPEC, SPEC_HASH

    quiet_optuna()
    spec = load_study_spec(str(write_spec(tmp_path, TINY, "old")))
    url = f"sqlite:///{tmp_path / 'old.db'}"
    for name, seconds in (("empty", None), ("old", 0.05)):
        study = optuna.create_study(study_name=name, storage=url)
        study.set_user_attr(SPEC, spec.to_dict())
        study.set_user_attr(SPEC_HASH, spec.hash())
        if seconds is not None:
            study.add_trial(optuna.trial.create_trial(value=seconds))
    assert create_or_join(open_storage(url), "empty", spec).metric_names == [
        "log10 time to solution (s)"]
    with pytest.raises(UserError, match="'old' was made by an earlier lstmbench whose objective "
                                        "was seconds") as info:
        create_or_join(open_storage(url), "old", spec)
    assert "--study NEW_NAME" in str(info.value) and info.value.exit_code == 1
