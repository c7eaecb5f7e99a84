"""The seed notebook's variants: as written (its own loops) and canonical agree, and do what
the notebook saw. Small task (40 sequences) and few epochs; fixed seeds."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import optuna
import pytest

from lstmbench.engines import make_engine
from lstmbench.engines._notebook import FORMS, NotebookError, _y_train_new, keras2_hard_sigmoid
from lstmbench.errors import UserError
from lstmbench.feeding import eval_set, train_batches
from lstmbench.spec import NOTEBOOK_FORMS, TaskSpec, load_study_spec
from lstmbench.study._objective import trial_spec
from lstmbench.study.replay import replay_trial, stored_spec
from lstmbench.tasks import make_task
from lstmbench.trial import run_trial

SPEC = dataclasses.replace(load_study_spec("seed-notebook"), task=TaskSpec(n_sequences=40))


def spec_of(key: str, epochs: int, seed: int = 0, **train):
    tspec, _ = trial_spec(SPEC, optuna.trial.FixedTrial({"variant": key, "seed": seed}))
    return dataclasses.replace(tspec, train=dataclasses.replace(tspec.train, epochs=epochs, **train))


def run(key: str, epochs: int, seed: int = 0, **train):
    return run_trial(spec_of(key, epochs, seed, **train))


def test_the_spec_names_exactly_the_forms_the_engines_run():
    assert set(FORMS) == set(NOTEBOOK_FORMS)
    forms = {v.key: v.train_engine("compiled") for v in SPEC.variants if v.form != "canonical"}
    assert forms == {key: f"notebook:{key}" for key in NOTEBOOK_FORMS}


def test_the_study_lists_every_variant_in_every_form():
    keys = {v.key for v in load_study_spec("seed-notebook").variants}
    assert keys == {
        "stateless-w10", "stateless-w10:as-written", "writing-1", "writing-1:as-written",
        "writing-2", "writing-2:as-written", "writing-2:after-reshape", "writing-3",
        "writing-3:as-meant", "writing-3:label-bug", "writing-4", "writing-4:as-meant",
        "writing-4:label-bug", "writing-5", "writing-5:as-written",
    }


@pytest.mark.slow
def test_writing_1_converges_as_written_and_canonical():
    """Tolerance: converged by epoch 3 in both forms, convergence epochs within ±2."""
    written, canonical = run("writing-1:as-written", 3), run("writing-1", 3)
    assert written.converged and canonical.converged
    assert abs(written.convergence_epoch - canonical.convergence_epoch) <= 2
    assert written.engine == "keras/Writing1"


@pytest.mark.parametrize(("key", "window"), [("writing-4:as-meant", 1), ("writing-5:as-written", 2)])
def test_writings_4_and_5_are_stateless_windows_and_cannot_beat_their_ceiling(key, window):
    name = key.split(":")[0]
    written, canonical = run(key, 3), run(name, 3)
    assert canonical.spec["model"] == {"stateful": False, "window": window, "timesteps": None,
                                       "batch_size": 20 if window == 1 else 19, "units": 4}
    for r in (written, canonical):
        assert not r.converged
        assert r.best_val_accuracy <= r.ceiling + 1e-9
    assert written.ceiling == canonical.ceiling == pytest.approx((0.5 + 0.5 * (21 - window)) / (21 - window))
    # both plateau at the same place: within one validation window of each other
    assert abs(written.final_val_accuracy - canonical.final_val_accuracy) <= 1 / 80 + 1e-9


def test_writing_2_after_the_reshape_of_in_91_cannot_run_and_says_why():
    with pytest.raises(NotebookError, match=r"IndexError at i = 36 .*batch_size = X_train.shape\[1\] = 1"):
        run("writing-2:after-reshape", 1)


def test_writing_2_as_written_runs_and_is_stateless_windows_of_one():
    written, canonical = run("writing-2:as-written", 2), run("writing-2", 2)
    assert written.engine == "keras/Writing2"
    for r in (written, canonical):
        assert not r.converged and r.best_val_accuracy <= r.ceiling + 1e-9
    assert written.ceiling == pytest.approx(0.525)


def test_the_label_bug_of_in_114_writes_only_the_first_20_rows():
    y_train = np.array([1.0, 0.0, 1.0])
    y = _y_train_new(y_train, 60, 20)
    assert y[:20].tolist() == [1.0] * 20 and not y[20:].any()  # the last sequence's label
    assert not _y_train_new(np.array([1.0, 0.0]), 40, 20).any()


def test_the_notebook_forms_use_keras_2s_hard_sigmoid_not_keras_3s():
    import keras

    x = np.array([-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0], np.float32)
    np.testing.assert_allclose(keras2_hard_sigmoid(x), [0, 0, 0.3, 0.5, 0.7, 1, 1], atol=1e-6)
    # Keras 3's own hard_sigmoid is relu6(x + 3) / 6: another slope, not the notebook's
    np.testing.assert_allclose(keras.activations.hard_sigmoid(x)[2:5], [1 / 3, 0.5, 2 / 3],
                               atol=1e-6)
    engine, _, _ = engine_of("writing-1:as-written")
    lstm = next(layer for layer in engine.model.layers if hasattr(layer, "cell"))
    assert lstm.cell.recurrent_activation is keras2_hard_sigmoid
    assert lstm.cell.activation is keras.activations.tanh


def engine_of(key: str, epochs: int = 2):
    spec = spec_of(key, epochs)
    data = make_task(spec.task, spec.seed)
    batches = train_batches(data.x_train, data.y_train, spec.model, seed=spec.seed, epoch=1,
                            shuffle=spec.train.shuffle)
    evalset = eval_set(data.x_val, data.y_val, spec.model)
    return make_engine(spec, batches, evalset), batches, evalset


@pytest.mark.parametrize("key", ["writing-4:label-bug", "stateless-w10:as-written"])
def test_a_notebook_forms_warm_up_compiles_and_leaves_no_trace(key):
    """Warmed up or not, the first epoch ends with the same weights (tolerance 0: same program)."""
    warm, batches, evalset = engine_of(key)
    warm.warm_up(batches, evalset)
    cold, _, _ = engine_of(key)
    assert warm.train_epoch(batches) == cold.train_epoch(batches)
    for a, b in zip(warm.model.get_weights(), cold.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_notebook_forms_first_epoch_holds_no_compile_time():
    """Tolerance: epoch 1 within 2x epoch 2 + 0.3 s; compiling fit alone took 1.5 s (2 cores)."""
    r = run("writing-4:as-meant", 2, stop_at_convergence=False)
    first, second = r.train_ms
    assert first < 2 * second + 300, (r.train_ms, r.compile_s)


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


def test_a_notebook_trial_stored_before_the_forms_were_engines_is_refused_with_the_reason():
    spec = spec_of("writing-1", 1).to_dict()
    spec["train"]["engine"] = "keras"  # how such trials were stored: the form in user attributes
    attrs = {"spec": spec, "jit": False, "variant": "writing-1", "form": "as-written"}
    with pytest.raises(UserError, match=r"writing-1:as-written .* run the study again"):
        stored_spec(attrs)


def tiny_seed_notebook() -> str:
    """The shipped seed-notebook study, cut to 20 sequences, 2 epochs and seed 0 per variant."""
    from lstmbench.spec import find_spec

    text = find_spec("seed-notebook").read_text(encoding="utf-8")
    text = re.sub(r"^seeds = .*$", "", text, flags=re.M)
    text = re.sub(r"^epochs = \d+.*$", "epochs = 2", text, flags=re.M)
    return text.replace("[[variants]]", "[[variants]]\nseeds = [0]") + "\n[task]\nn_sequences = 20\n"


@pytest.mark.slow
def test_every_variant_and_form_of_the_seed_notebook_replays_to_the_same_numbers(tmp_path):
    from lstmbench.study import run_sweep

    path = tmp_path / "seed-notebook.toml"
    path.write_text(tiny_seed_notebook())
    url = f"sqlite:///{tmp_path / 'nb.db'}"
    outcome = run_sweep(trials=None, spec=str(path), storage=url, jobs=1, quiet=True)
    study = optuna.load_study(study_name="seed-notebook", storage=url)
    by_key = {t.params["variant"]: t for t in study.trials}
    assert set(by_key) == {v.key for v in SPEC.variants}  # one trial of every variant and form
    assert outcome.complete == len(by_key) - 1 and outcome.failed == 1
    for key, t in by_key.items():
        if key == "writing-2:after-reshape":  # it cannot run: its replay says why
            assert t.state.name == "FAIL"
            with pytest.raises(UserError, match=r"state FAIL: NotebookError: .*IndexError at i = 18"):
                replay_trial("seed-notebook", t.number, url)
            continue
        out = replay_trial("seed-notebook", t.number, url)
        assert out.matches, (key, out.stored_curve, out.replayed_curve)
        assert out.result.spec["train"]["xla"] == t.user_attrs["spec"]["train"]["xla"]
