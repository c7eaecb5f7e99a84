"""Shared programs: a configuration trained in a padded, bucketed program (more batches, steps,
samples and units than its own, sizes as runtime values) computes what the program of its
exact shapes computes."""

from __future__ import annotations

import numpy as np
import pytest

from lstmbench.engines._compiled import CompiledPopulation, _programs
from lstmbench.engines._compiled._shapes import BATCH_BUCKETS, ProgramShape, bucket, eval_samples
from lstmbench.feeding import eval_set, population_batches
from lstmbench.spec import ModelConfig, TrainSpec, TrialSpec
from lstmbench.tasks import make_task

EPOCHS = 2
# float32 agreement asked of every engine; measured: losses within 6e-8, probabilities 1.2e-7
TOLERANCE = 1e-5


def _train(model: ModelConfig, *, exact: bool, jit: bool = True):
    spec = TrialSpec(model=model, train=TrainSpec(replicates=3), seed=5)
    data = make_task(spec.task, spec.data_seed)
    evalset = eval_set(data.x_val, data.y_val, model)
    batches = [population_batches(data.x_train, data.y_train, model, seeds=spec.member_seeds,
                                  epoch=e, shuffle=True) for e in range(1, EPOCHS + 1)]
    population = CompiledPopulation(
        units=model.units, learning_rate=1e-3, seeds=spec.member_seeds,
        batch_shape=batches[0].xs.shape, jit=jit, exact_shape=exact)
    population.warm_up(batches[0], evalset)
    losses = np.array([population.train_epoch(b) for b in batches])
    return losses, population.predict(evalset), population._program.shape


@pytest.mark.parametrize(
    "model",
    [
        # 10 samples padded to 11, 2 steps a chunk in a loop of up to 20, 4 units padded to 16
        ModelConfig(stateful=True, timesteps=2, batch_size=10, units=4),
        # one sample padded to 2, one step in the loop of 20 (exact: the single step written out)
        ModelConfig(stateful=True, timesteps=1, batch_size=1, units=8),
        # windows of 7 steps padded to 20, 8 units to 16, 161 batches in 6 blocks
        ModelConfig(stateful=False, window=7, batch_size=11, units=8),
    ],
    ids=["stateful-T2-B10-U4", "stateful-T1-B1-U8", "stateless-W7-B11-U8"],
)
def test_a_bucketed_program_computes_what_the_exact_one_computes(model):
    exact_losses, exact_probs, exact_shape = _train(model, exact=True)
    losses, probs, shape = _train(model, exact=False)
    assert shape != exact_shape and shape.units == 16  # it did pad
    np.testing.assert_allclose(losses, exact_losses, atol=TOLERANCE)
    np.testing.assert_allclose(probs, exact_probs, atol=TOLERANCE)
    assert np.ptp(losses[0]) > 10 * TOLERANCE  # three different members, really trained


def test_configurations_of_other_sizes_share_one_program():
    """Stateful T=2 and T=5 and stateless W=7 (all B=30, 8 units) run in one program, and each
    gets what it would get alone in a fresh one."""
    models = [ModelConfig(stateful=True, timesteps=2, batch_size=30, units=8),
              ModelConfig(stateful=True, timesteps=5, batch_size=30, units=4),
              ModelConfig(stateful=False, window=7, batch_size=30, units=16)]
    alone = []
    for model in models:
        _programs.clear()
        alone.append(_train(model, exact=False)[:2])
    _programs.clear()
    shared = [_train(model, exact=False)[:2] for model in models]
    assert len(_programs) == 1
    for (a_losses, a_probs), (s_losses, s_probs) in zip(alone, shared):
        np.testing.assert_array_equal(s_losses, a_losses)
        np.testing.assert_array_equal(s_probs, a_probs)


def test_buckets_round_up():
    assert [bucket(b, BATCH_BUCKETS) for b in (1, 3, 10, 11, 12, 90, 91, 200)] == [
        2, 11, 11, 11, 30, 90, 180, 270]
    shape = ProgramShape.of(24, (3, 4, 2, 7, 5, 1))
    assert (shape.units, shape.batch, shape.steps, shape.chunk_steps) == (24, 11, 20, 20)
    # a chunk of one step runs in the steps loop of a shared program, not a program of its own
    shape = ProgramShape.of(8, (90, 20, 4, 1, 1, 1))
    assert (shape.units, shape.batch, shape.steps, shape.chunk_steps) == (16, 2, 20, 20)
    assert ProgramShape.of(8, (90, 20, 4, 1, 1, 1), exact=True).chunk_steps == 1
    # validation samples: a stateless study's window sizes share five predictor compiles
    assert [eval_samples(n) for n in (1, 10, 16, 17, 110, 200)] == [16, 16, 16, 32, 128, 256]


def test_a_spec_asks_for_a_program_of_exact_shapes():
    from lstmbench.engines import make_population

    model = ModelConfig(stateful=True, timesteps=1, batch_size=1, units=8)
    shapes = {}
    for programs in ("shared", "exact"):
        spec = TrialSpec(model=model, train=TrainSpec(replicates=2, programs=programs), seed=1)
        data = make_task(spec.task, spec.data_seed)
        batches = population_batches(data.x_train, data.y_train, model, seeds=spec.member_seeds,
                                     epoch=1, shuffle=True)
        population = make_population(spec, batches, eval_set(data.x_val, data.y_val, model))
        shapes[programs] = population._program.shape
    # an exact-shape program trains the whole epoch (90 batches of one sequence) in one call
    assert shapes["exact"] == ProgramShape(2, 1, 20, 1, 8, block=90)
    assert shapes["shared"] == ProgramShape(2, 2, 20, 20, 16)
