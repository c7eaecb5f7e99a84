"""The engines against each other and the LSTM state semantics, checked on the models directly."""

from __future__ import annotations

import numpy as np
import pytest

from _heads import HEADS, head_data
from lstmbench.engines import make_population
from lstmbench.feeding import Head, eval_set, train_batches
from lstmbench.spec import ModelConfig, TaskSpec, TrainSpec, TrialSpec
from lstmbench.tasks import make_task

TASK = TaskSpec(n_sequences=40, seq_len=8)


class _OneModel:
    """A population of one seen as one model: the compiled engine trains populations only, and
    the Keras reference of one member is ``make_engine``'s model behind the same interface."""

    def __init__(self, population):
        self.population = population
        self.n_params = population.n_params

    def train_epoch(self, batches):
        return float(self.population.train_epoch(batches.with_member_axis())[0])

    def predict(self, ev):
        return self.population.predict(ev)[0]


def _setup(model: ModelConfig, engine: str, seed: int = 0, ev=None):
    spec = TrialSpec(model=model, task=TASK, train=TrainSpec(engine=engine), seed=seed)
    data = make_task(TASK, seed)
    batches = train_batches(data.x_train, data.y_train, model, seed=seed, epoch=1, shuffle=True)
    ev = eval_set(data.x_val, data.y_val, model) if ev is None else ev
    population = make_population(spec, batches.with_member_axis(), ev)
    population.warm_up(batches.with_member_axis(), ev)
    return _OneModel(population), batches, ev


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


# --------------------------------------------------------------------------- heads and features

def _head_run(engine: str, model: ModelConfig, head: Head, features: int):
    x, y = head_data(head, features)
    spec = TrialSpec(model=model, train=TrainSpec(engine=engine), seed=3)
    batches = train_batches(x, y, model, seed=3, epoch=1, shuffle=True, head=head)
    ev = eval_set(x, y, model, head=head)
    population = make_population(spec, batches.with_member_axis(), ev)
    population.warm_up(batches.with_member_axis(), ev)
    eng = _OneModel(population)
    before = eng.predict(ev)
    loss = eng.train_epoch(batches)
    return before, loss, eng.predict(ev), eng.n_params


@pytest.mark.parametrize("features", [1, 3], ids=["F1", "F3"])
@pytest.mark.parametrize("kind", list(HEADS))
@pytest.mark.parametrize(
    "model",
    [ModelConfig(stateful=True, timesteps=2, batch_size=4, units=4),
     ModelConfig(stateful=False, window=3, batch_size=5, units=4)],
    ids=["stateful-T2-B4", "stateless-W3-B5"],
)
def test_every_head_and_feature_count_trains_as_the_keras_reference(model, kind, features):
    """The compiled engine's epoch on F features with a binary, softmax (4 classes) or linear
    head is Keras' (``Dense`` with sigmoid / softmax / no activation; binary cross-entropy,
    sparse categorical cross-entropy, mean squared error) to 1e-5: loss and predictions."""
    head = HEADS[kind]
    (b0, l0, p0, n0), (b1, l1, p1, n1) = (_head_run(e, model, head, features)
                                          for e in ("compiled", "keras"))
    u, c = model.units, head.n_outputs
    assert n0 == n1 == 4 * u * (features + u + 1) + (u + 1) * c
    n_chunks, n_samples = eval_set(*head_data(head, features), model).xv.shape[:2]
    assert p0.shape == p1.shape == (n_chunks, n_samples, *((c,) if c > 1 else ()))
    if kind != "linear":  # probabilities
        assert np.all((p0 >= 0) & (p0 <= 1))
    if kind == "softmax":
        np.testing.assert_allclose(p0.sum(axis=-1), 1, atol=1e-6)
    np.testing.assert_allclose(b0, b1, atol=1e-6)
    assert l0 == pytest.approx(l1, abs=1e-5)
    assert not np.allclose(b0, p0, atol=1e-4)  # the epoch did change the model
    np.testing.assert_allclose(p0, p1, atol=1e-5)


def test_the_notebook_engines_refuse_other_data_in_one_line():
    from lstmbench.engines import make_engine
    from lstmbench.errors import UserError
    from lstmbench.spec import NOTEBOOK_ENGINES

    model = ModelConfig(stateful=True, timesteps=1, batch_size=1, units=4)
    x, y = head_data(HEADS["softmax"], 1)
    batches = train_batches(x, y, model, seed=0, epoch=1, shuffle=False, head=HEADS["softmax"])
    spec = TrialSpec(model=model, train=TrainSpec(engine=NOTEBOOK_ENGINES[0]), seed=0)
    with pytest.raises(UserError, match="one feature and two classes only"):
        make_engine(spec, batches, eval_set(x, y, model, head=HEADS["softmax"]))
