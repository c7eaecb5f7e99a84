"""The engines against each other and the LSTM state semantics, checked on the models directly."""

from __future__ import annotations

import numpy as np
import pytest

from lstmbench.engines import make_engine
from lstmbench.feeding import eval_set, train_batches
from lstmbench.spec import ModelConfig, TaskSpec, TrainSpec, TrialSpec
from lstmbench.tasks import make_task

TASK = TaskSpec(n_sequences=40, seq_len=8)


def _setup(model: ModelConfig, engine: str, seed: int = 0, ev=None):
    spec = TrialSpec(model=model, task=TASK, train=TrainSpec(engine=engine), seed=seed)
    data = make_task(TASK, seed)
    batches = train_batches(data.x_train, data.y_train, model, seed=seed, epoch=1, shuffle=True)
    ev = eval_set(data.x_val, data.y_val, model) if ev is None else ev
    eng = make_engine(spec, batches, ev)
    eng.warm_up(batches, ev)
    return eng, batches, ev


@pytest.mark.parametrize(
    "model",
    [
        ModelConfig(stateful=True, timesteps=1, batch_size=1, units=4),  # one product per step
        ModelConfig(stateful=True, timesteps=2, batch_size=4, units=4),
        ModelConfig(stateful=False, window=3, batch_size=7, units=4),
        ModelConfig(stateful=True, timesteps=2, batch_size=4, units=24),  # a matmul, not fused
    ],
    ids=["stateful-T1-B1", "stateful-T2", "stateless-W3", "stateful-T2-U24"],
)
def test_engines_compute_the_same_epoch(model):
    """Same seed, same weights, same order: the same losses and predictions to float32 precision."""
    runs = {}
    for name in ("compiled", "keras"):
        eng, batches, ev = _setup(model, name)
        before = eng.predict(ev)
        loss = eng.train_epoch(batches)
        runs[name] = (before, loss, eng.predict(ev), eng.n_params)
    (b0, l0, p0, n0), (b1, l1, p1, n1) = runs["compiled"], runs["keras"]
    u = model.units
    assert n0 == n1 == 4 * u * (1 + u + 1) + u + 1
    np.testing.assert_allclose(b0, b1, atol=1e-6)
    assert l0 == pytest.approx(l1, abs=1e-4)
    assert not np.allclose(b0, p0, atol=1e-5)  # the epoch did change the model
    np.testing.assert_allclose(p0, p1, atol=1e-4)


def _probe(seq_len: int = 8) -> np.ndarray:
    """Two sequences that differ only in their first bit."""
    x = np.zeros((2, seq_len), dtype=np.float32)
    x[0, 0] = 1.0
    return x


def test_keras_stateful_model_carries_state_within_a_sequence_and_reset_isolates_sequences():
    from lstmbench.engines._keras import build_model, reset_states

    model = build_model(4, 1, 1, stateful=True)
    model.set_weights([w * 3 for w in model.get_weights()])  # larger weights: visible effects

    def run(seq):
        return np.array([float(model.predict_on_batch(seq[None, t : t + 1, None])[0, 0])
                         for t in range(len(seq))])

    pos, neg = _probe()
    reset_states(model)
    after_pos = run(pos)
    reset_states(model)
    after_neg = run(neg)
    # carried: from step 1 on the inputs are identical zeros, yet the outputs differ
    assert np.all(np.abs(after_pos[1:] - after_neg[1:]) > 1e-4)
    # isolated: the negative sequence gives the same outputs whether a positive ran before it
    reset_states(model)
    run(pos)
    reset_states(model)
    np.testing.assert_allclose(run(neg), after_neg, atol=1e-7)
    # and without the reset it would not: the reset is what isolates them
    reset_states(model)
    run(pos)
    assert not np.allclose(run(neg), after_neg, atol=1e-4)


@pytest.mark.parametrize("engine", ["compiled", "keras"])
def test_engine_predictions_depend_on_the_sequence_not_on_its_neighbours(engine):
    from lstmbench.feeding import EvalSet

    model = ModelConfig(stateful=True, timesteps=1, batch_size=2, units=4)
    x = np.zeros((3, 8), dtype=np.float32)
    x[0, 0] = 1.0  # positive, negative, negative
    ev = EvalSet(x.T[:, :, None, None].copy(), np.array([1, 0, 0], np.float32))
    eng, batches, _ = _setup(model, engine, ev=ev)
    eng.train_epoch(batches)  # trained weights, not just the initial ones
    probs = eng.predict(ev)
    assert np.all(np.abs(probs[1:, 0] - probs[1:, 1]) > 1e-6)  # state carried the first bit
    np.testing.assert_allclose(probs[:, 1], probs[:, 2], atol=1e-7)  # neighbours do not matter
    reordered = EvalSet(ev.xv[:, ::-1].copy(), ev.yv[::-1].copy())
    np.testing.assert_allclose(eng.predict(reordered)[:, ::-1], probs, atol=1e-6)
