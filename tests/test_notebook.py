"""The seed notebook's variants: as written (its own loops) and canonical agree, and do what
the notebook saw. Small task (40 sequences) and few epochs; fixed seeds."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from lstmbench.engines._notebook import FORMS, NotebookError
from lstmbench.spec import NOTEBOOK_FORMS, TaskSpec, load_study_spec
from lstmbench.study._objective import trial_spec
from lstmbench.trial import run_trial

SPEC = dataclasses.replace(load_study_spec("seed-notebook"), task=TaskSpec(n_sequences=40))


def run(key: str, epochs: int, seed: int = 0):
    tspec, _ = trial_spec(SPEC, optuna.trial.FixedTrial({"variant": key, "seed": seed}))
    tspec = dataclasses.replace(tspec, train=dataclasses.replace(tspec.train, epochs=epochs))
    return run_trial(tspec)


def test_the_spec_names_exactly_the_forms_the_engines_run():
    assert set(FORMS) == set(NOTEBOOK_FORMS)
    forms = {v.key: v.train_engine("compiled") for v in SPEC.variants if v.form != "canonical"}
    assert forms == {key: f"notebook:{key}" for key in NOTEBOOK_FORMS}


def test_the_study_lists_every_variant_in_every_form():
    keys = {v.key for v in load_study_spec("seed-notebook").variants}
    assert keys == {
        "stateless-w10", "stateless-w10:as-written", "writing-1", "writing-1:as-written",
        "writing-2", "writing-2:as-written", "writing-2:as-meant", "writing-3",
        "writing-3:as-meant", "writing-3:label-bug", "writing-4", "writing-4:as-written",
        "writing-5", "writing-5:as-written",
    }


@pytest.mark.slow
def test_writing_1_converges_as_written_and_canonical():
    """Tolerance: converged by epoch 3 in both forms, convergence epochs within ±2."""
    written, canonical = run("writing-1:as-written", 3), run("writing-1", 3)
    assert written.converged and canonical.converged
    assert abs(written.convergence_epoch - canonical.convergence_epoch) <= 2
    assert written.engine == "keras/Writing1"


@pytest.mark.parametrize(("name", "window"), [("writing-4", 1), ("writing-5", 2)])
def test_writings_4_and_5_are_stateless_windows_and_cannot_beat_their_ceiling(name, window):
    written, canonical = run(f"{name}:as-written", 3), run(name, 3)
    assert canonical.spec["model"] == {"stateful": False, "window": window, "timesteps": None,
                                       "batch_size": 20 if window == 1 else 19, "units": 4}
    for r in (written, canonical):
        assert not r.converged
        assert r.best_val_accuracy <= r.ceiling + 1e-9
    assert written.ceiling == canonical.ceiling == pytest.approx((0.5 + 0.5 * (21 - window)) / (21 - window))
    # both plateau at the same place: within one validation window of each other
    assert abs(written.final_val_accuracy - canonical.final_val_accuracy) <= 1 / 80 + 1e-9


def test_writing_2_as_written_cannot_run_and_says_why():
    with pytest.raises(NotebookError, match=r"IndexError at i = 36 .*batch_size = X_train.shape\[1\] = 1"):
        run("writing-2:as-written", 1)


def test_writing_2_as_meant_is_stateless_windows_of_one():
    meant, canonical = run("writing-2:as-meant", 2), run("writing-2", 2)
    for r in (meant, canonical):
        assert not r.converged and r.best_val_accuracy <= r.ceiling + 1e-9
    assert meant.ceiling == pytest.approx(0.525)


@pytest.mark.slow
def test_writing_3_learns_as_meant_and_its_label_bug_teaches_zero():
    meant, canonical, bug = run("writing-3:as-meant", 3), run("writing-3", 3), run("writing-3:label-bug", 2)
    assert meant.converged and canonical.converged
    assert abs(meant.convergence_epoch - canonical.convergence_epoch) <= 2
    assert not bug.converged
    assert bug.best_val_accuracy == pytest.approx(0.5)  # answers 0 for the balanced validation set


def test_stateless_cell_sits_at_its_ceiling_in_both_forms():
    written, canonical = run("stateless-w10:as-written", 4), run("stateless-w10", 4)
    for r in (written, canonical):
        assert not r.converged and r.best_val_accuracy <= r.ceiling + 1e-9
        assert r.final_val_accuracy == pytest.approx(r.ceiling, abs=0.05)
