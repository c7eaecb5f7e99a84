"""Real (tiny) training runs: what the notebook showed, reproduced with fixed seeds."""

from __future__ import annotations

import dataclasses

import pytest

from lstmbench.spec import ModelConfig, TaskSpec, TrainSpec, TrialSpec
from lstmbench.trial import run_trial

STATELESS_W10 = ModelConfig(stateful=False, window=10, batch_size=11, units=8)
STATEFUL_T1 = ModelConfig(stateful=True, timesteps=1, batch_size=1, units=8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stateless_w10_never_beats_its_ceiling_and_plateaus_near_it(seed):
    result = run_trial(TrialSpec(model=STATELESS_W10, train=TrainSpec(epochs=8), seed=seed))
    assert not result.converged and result.convergence_epoch is None
    assert result.time_to_converge_s is None
    assert result.epochs_run == 8
    assert result.best_val_accuracy <= result.ceiling + 1e-9
    # plateau: the last three epochs sit within 0.05 of the ceiling (≈0.55 for p near 0.5)
    assert all(result.ceiling - 0.05 <= a for a in result.val_accuracy[-3:])
    assert 0.5 <= result.ceiling <= 0.6


def test_stateless_on_whole_sequences_converges():
    model = ModelConfig(stateful=False, window=20, batch_size=11, units=8)
    result = run_trial(TrialSpec(model=model, train=TrainSpec(epochs=20), seed=0))
    assert result.ceiling == 1.0
    assert result.converged and result.convergence_epoch <= 15
    assert result.val_accuracy[result.convergence_epoch - 1] >= 0.99
    assert all(a < 0.99 for a in result.val_accuracy[: result.convergence_epoch - 1])


def test_stateful_t1_converges_in_a_few_epochs_for_most_seeds():
    """The notebook's 写法1: stateful, B=1, T=1, 8 units. Tolerance: 4 of 5 seeds by epoch 3."""
    epochs = [
        run_trial(TrialSpec(model=STATEFUL_T1, train=TrainSpec(epochs=3), seed=s)).convergence_epoch
        for s in range(5)
    ]
    assert sum(e is not None for e in epochs) >= 4, epochs


def test_same_seed_gives_the_same_result_twice_in_one_process():
    spec = TrialSpec(model=ModelConfig(stateful=True, timesteps=2, batch_size=5, units=8),
                     train=TrainSpec(epochs=3, stop_at_convergence=False), seed=11)
    a, b = run_trial(spec), run_trial(spec)
    assert b.reused_program  # the second run reuses the compiled program and must reset it fully
    assert a.val_accuracy == b.val_accuracy
    assert a.train_loss == b.train_loss
    assert a.convergence_epoch == b.convergence_epoch


def test_result_records_what_it_takes_to_rerun():
    spec = TrialSpec(model=STATEFUL_T1, task=TaskSpec(n_sequences=20), train=TrainSpec(epochs=1),
                     seed=5)
    r = run_trial(spec)
    # the same spec, with XLA as the engine resolved it ("auto" is on for the compiled engine)
    assert TrialSpec.from_dict(r.spec) == dataclasses.replace(
        spec, train=dataclasses.replace(spec.train, xla="on"))
    assert r.jit
    assert r.seed == 5 and r.engine == "compiled" and r.n_params == 329
    assert {"tensorflow", "keras", "python", "lstmbench"} <= set(r.versions)
    assert r.epochs_run == len(r.val_accuracy) == len(r.train_loss) == len(r.train_ms)
    assert r.total_s >= r.compile_s > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        ModelConfig(stateful=True, timesteps=1, batch_size=10, units=8),
        ModelConfig(stateful=False, window=20, batch_size=11, units=8),
    ],
    ids=["stateful-T1-B10", "stateless-W20"],
)
def test_engines_agree_on_the_convergence_epoch(model):
    """Same task and seed on both engines: convergence epochs within ±2 (float32 sums in
    another order can shift a borderline epoch)."""
    for seed in (0, 1):
        got = {
            engine: run_trial(
                TrialSpec(model=model, train=TrainSpec(epochs=20, engine=engine), seed=seed)
            )
            for engine in ("compiled", "keras")
        }
        c, k = got["compiled"], got["keras"]
        assert c.converged and k.converged
        assert abs(c.convergence_epoch - k.convergence_epoch) <= 2, (seed, c.val_accuracy, k.val_accuracy)


def test_time_to_converge_is_compile_train_and_evaluation_without_the_callbacks():
    """A 0.5 s callback after every epoch is not in it; evaluation (a few ms) is: tolerance 0.25 s."""
    import time

    spec = TrialSpec(model=STATEFUL_T1, task=TaskSpec(n_sequences=40), train=TrainSpec(epochs=4),
                     seed=0)
    r = run_trial(spec, on_epoch=lambda *_: time.sleep(0.5))
    c = r.convergence_epoch
    assert c is not None and c >= 2  # seed 0 converges in epoch 2: one callback falls before it
    trained = r.compile_s + sum(r.train_ms[:c]) / 1e3
    assert trained <= r.time_to_converge_s < trained + 0.25
