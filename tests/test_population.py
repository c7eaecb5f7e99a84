"""Populations: member i of K trained together is the one-model run of member i's seed."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from _heads import HEADS, head_data
from lstmbench.engines import make_population
from lstmbench.feeding import eval_set, population_batches
from lstmbench.spec import ModelConfig, TaskSpec, TrainSpec, TrialSpec
from lstmbench.tasks import make_task

EPOCHS = 2
TOLERANCE = 1e-5  # float32 sums in another order, amplified by 2 epochs of Adam


def _xla(spec: TrialSpec, jit: bool | None) -> TrialSpec:
    xla = "auto" if jit is None else "on" if jit else "off"
    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, xla=xla))


def _train(spec: TrialSpec, *, jit: bool | None) -> tuple[np.ndarray, np.ndarray]:
    """Train ``spec``'s population for EPOCHS: losses ``(EPOCHS, K)``, probabilities after."""
    spec = _xla(spec, jit)
    data = make_task(spec.task, spec.data_seed)
    evalset = eval_set(data.x_val, data.y_val, spec.model)

    def batches(epoch: int):
        return population_batches(data.x_train, data.y_train, spec.model,
                                  seeds=spec.member_seeds, epoch=epoch, shuffle=True)

    population = make_population(spec, batches(1), evalset)
    population.warm_up(batches(1), evalset)
    losses = [population.train_epoch(batches(e)) for e in range(1, EPOCHS + 1)]
    return np.array(losses), population.predict(evalset)


def test_population_batches_hold_each_members_own_batches():
    from lstmbench.feeding import train_batches

    model = ModelConfig(stateful=True, timesteps=5, batch_size=7, units=8)
    data = make_task(TaskSpec(), 0)
    seeds = [0, 1_000_000, 2_000_000]
    stacked = population_batches(data.x_train, data.y_train, model, seeds=seeds, epoch=2,
                                 shuffle=True)
    assert stacked.xs.shape == (12, 4, 3, 7, 5, 1) and stacked.ys.shape == (12, 3, 7)
    for i, seed in enumerate(seeds):
        own = train_batches(data.x_train, data.y_train, model, seed=seed, epoch=2, shuffle=True)
        np.testing.assert_array_equal(stacked.member(i).xs, own.xs)
        np.testing.assert_array_equal(stacked.member(i).ys, own.ys)
    assert not np.array_equal(stacked.member(0).ys, stacked.member(1).ys)  # own orders


@pytest.mark.parametrize(
    ("model", "jit"),
    [
        (ModelConfig(stateful=True, timesteps=1, batch_size=1, units=8), True),
        (ModelConfig(stateful=True, timesteps=5, batch_size=7, units=8), True),
        (ModelConfig(stateful=True, timesteps=5, batch_size=7, units=8), False),
        (ModelConfig(stateful=False, window=10, batch_size=11, units=8), True),
    ],
    ids=["stateful-T1-B1-xla", "stateful-T5-B7-xla", "stateful-T5-B7-plain", "stateless-W10-B11-xla"],
)
def test_member_i_of_sixteen_is_the_one_member_run_of_its_seed(model, jit):
    """Losses of both epochs and predictions after them within 1e-5, for all 16 members.

    XLA on is what a trial uses (``xla = "auto"``); T=5 B=7 also runs without it
    (another program: while loops and matmuls of TensorFlow's own kernels). 7 does not divide the
    90 training sequences, so every member drops a different remainder each epoch.
    """
    spec = TrialSpec(model=model, train=TrainSpec(replicates=16), seed=3)
    losses, probs = _train(spec, jit=jit)
    assert losses.shape == (EPOCHS, 16) and probs.shape[0] == 16
    for i in range(16):
        one_losses, one_probs = _train(spec.member_spec(i), jit=jit)
        np.testing.assert_allclose(losses[:, i], one_losses[:, 0], atol=TOLERANCE, err_msg=f"member {i}")
        np.testing.assert_allclose(probs[i], one_probs[0], atol=TOLERANCE, err_msg=f"member {i}")
    # The members are different runs (equal ones would pass the loop above for any seed): their
    # first-epoch losses spread by far more than the tolerance.
    assert np.ptp(losses[0]) > 100 * TOLERANCE


def test_compiled_member_matches_the_keras_reference_of_its_seed():
    """Member 5 of a compiled population against the Keras engine (K separate models) at
    member 5's seed: float32 on two engines, the tolerance of ``test_engines`` (1e-4)."""
    model = ModelConfig(stateful=True, timesteps=5, batch_size=7, units=8)
    spec = TrialSpec(model=model, train=TrainSpec(replicates=8), seed=1)
    losses, probs = _train(spec, jit=True)
    reference = TrialSpec(model=model, train=TrainSpec(replicates=1, engine="keras"),
                          seed=spec.member_seeds[5], task=TaskSpec(seed=spec.data_seed))
    ref_losses, ref_probs = _train(reference, jit=None)
    np.testing.assert_allclose(losses[:, 5], ref_losses[:, 0], atol=1e-4)
    np.testing.assert_allclose(probs[5], ref_probs[0], atol=1e-4)


def test_member_specs_share_the_data_and_member_zero_is_the_trial_itself():
    spec = TrialSpec(model=ModelConfig(stateful=True, timesteps=1, batch_size=1, units=8),
                     train=TrainSpec(replicates=3), seed=7)
    assert spec.member_seeds[0] == 7 and len(set(spec.member_seeds)) == 3
    assert [spec.member_spec(i).data_seed for i in range(3)] == [7, 7, 7]
    assert [spec.member_spec(i).seed for i in range(3)] == spec.member_seeds
    assert spec.member_spec(0).member_seeds == [7]
    # members of neighbouring trials (seeds 7 and 8) never share a seed
    neighbour = TrialSpec(model=spec.model, train=spec.train, seed=8)
    assert not set(spec.member_seeds) & set(neighbour.member_seeds)


# --------------------------------------------------------------------------- the trial runner

TINY = TaskSpec(n_sequences=20, seq_len=4)
T1 = ModelConfig(stateful=True, timesteps=1, batch_size=1, units=4)


class _Scripted:
    """A member that scores what its script says: validation accuracy 1 (``"T"``) or about
    0.5 (``"F"``) per epoch, and a NaN loss where the script says ``"N"``."""

    name, jit, n_params = "scripted", False, 0

    def __init__(self, script: str) -> None:
        self.script, self.epoch = script, 0

    def warm_up(self, batches, evalset) -> None:
        pass

    def train_epoch(self, batches) -> float:
        self.epoch += 1
        return math.nan if self.script[self.epoch - 1] == "N" else 0.5 / self.epoch

    def predict(self, evalset) -> np.ndarray:
        y = np.broadcast_to(evalset.yv, evalset.xv.shape[:2]).copy()
        if self.script[self.epoch - 1] != "T":
            y[:, : len(evalset.yv) // 2 + 1] = 1 - y[:, : len(evalset.yv) // 2 + 1]  # half wrong
        return y


@pytest.fixture
def scripted_trial(monkeypatch):
    """Run a trial whose members follow scripts: every engine but the compiled one is K
    separate models made by ``make_engine``, which here returns each member's script."""
    import lstmbench.engines
    from lstmbench.trial import run_trial

    def run(scripts: list[str], **train):
        spec = TrialSpec(model=T1, task=TINY, seed=40,
                         train=TrainSpec(replicates=len(scripts), epochs=len(scripts[0]),
                                         engine="keras", **train))

        def make_engine(member_spec, batches, evalset):
            return _Scripted(scripts[spec.member_seeds.index(member_spec.seed)])

        monkeypatch.setattr(lstmbench.engines, "make_engine", make_engine)
        return run_trial(spec)

    return run


def test_run_trial_keeps_each_members_convergence_and_divergence(scripted_trial):
    r = scripted_trial(["FTTT", "FFFF", "TTTT", "FNNN"])
    assert r.epochs_run == 4  # member 1 never converges: the whole budget runs
    assert r.replicates == 4 and r.member_seeds == [40 + i * 1_000_000 for i in range(4)]
    assert r.member_epochs == [2, None, 1, None]
    assert r.member_diverged == [None, None, None, 2]
    assert r.converged and r.converged_share == 0.5
    assert r.median_epoch == 1.5 and r.convergence_epoch == 1  # the lower middle: an actual epoch
    assert r.member_best_val_accuracy[0] == r.member_best_val_accuracy[2] == 1.0
    assert r.member_best_val_accuracy[1] < 0.99 and r.best_val_accuracy == 1.0
    assert r.member_val_accuracy[0][0] < 0.99 and r.member_val_accuracy[0][1:] == [1.0] * 3
    assert r.member_train_loss[3] == [0.5, None, None, None]  # NaN stored as None (JSON-safe)
    # the trial's curves are member means (losses over the finite members)
    assert r.val_accuracy[3] == pytest.approx(np.mean([c[3] for c in r.member_val_accuracy]))
    assert r.train_loss[1] == pytest.approx(0.25)
    # seconds: a member's share of the population's training seconds through its epoch
    budget = sum(r.train_ms) / 1e3 / 4
    assert r.member_train_s[0] == pytest.approx(sum(r.train_ms[:2]) / 1e3 / 4)
    assert r.member_train_s[1] is None and r.member_train_s[3] is None
    expected = np.mean([r.member_train_s[0], budget, r.member_train_s[2], budget]) / 0.5
    assert r.time_to_solution_s == pytest.approx(expected)
    assert r.time_to_converge_s is not None and r.time_to_converge_s <= r.total_s


def test_run_trial_stops_when_every_member_has_converged_and_fails_when_all_diverge(
        scripted_trial):
    from lstmbench.errors import TrainingDiverged

    r = scripted_trial(["FFTF", "TTTT"])
    assert r.epochs_run == 3 and r.member_epochs == [3, 1] and r.converged_share == 1.0
    r = scripted_trial(["FFTF", "TTTT"], stop_at_convergence=False)
    assert r.epochs_run == 4 and r.member_epochs == [3, 1]
    r = scripted_trial(["FFFF", "FFFF"])
    assert not r.converged and r.convergence_epoch is None and r.median_epoch is None
    assert r.converged_share == 0.0 and r.time_to_solution_s == math.inf
    with pytest.raises(TrainingDiverged, match="every one of 2 members"):
        scripted_trial(["FNFF", "FFNF"])


def test_time_to_solution_counts_failed_members_with_the_whole_budget():
    from lstmbench.measures import time_to_solution

    # a failed member counts its whole run (2 s); runs 1 s and 2 s, mean 1.5 s, share 1/2: 3 s
    assert time_to_solution([1.0, None], [2.0, 2.0]) == pytest.approx(3.0)
    assert time_to_solution([1.0, 3.0], [2.0, 2.0]) == pytest.approx(2.0)
    assert time_to_solution([None, None], [2.0, 2.0]) == math.inf


def test_member_of_a_trial_is_the_one_member_trial_of_its_member_spec():
    """The runner on real (tiny) training: member 2 of 3 against its own one-member trial."""
    from lstmbench.trial import run_trial

    spec = TrialSpec(model=T1, task=TINY, seed=2,
                     train=TrainSpec(replicates=3, epochs=3, stop_at_convergence=False))
    spec = _xla(spec, False)
    r = run_trial(spec)
    one = run_trial(spec.member_spec(2))
    assert one.replicates == 1 and one.seed == r.member_seeds[2]
    assert r.member_val_accuracy[2] == one.val_accuracy  # the same predictions, to the sample
    np.testing.assert_allclose(r.member_train_loss[2], one.train_loss, atol=TOLERANCE)
    assert r.member_epochs[2] == one.convergence_epoch
    # and member 0 is the one-seed trial of the same spec, as before replicates existed
    zero = run_trial(dataclasses.replace(spec, train=dataclasses.replace(spec.train, replicates=1)))
    assert r.member_val_accuracy[0] == zero.val_accuracy


# --------------------------------------------------------------------------- spec and command line


def test_replicates_below_one_are_refused_in_a_study_file_and_on_the_command_line(tmp_path, capsys):
    from lstmbench.cli import main
    from lstmbench.spec import SpecError, load_study_spec

    path = tmp_path / "bad.toml"
    path.write_text("[train]\nreplicates = 0\n")
    with pytest.raises(SpecError, match=r"bad\.toml: train: replicates=0 is out of range: must be >= 1"):
        load_study_spec(str(path))
    assert main(["train", "--replicates", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "replicates=0" in err and ">= 1" in err


def test_train_json_prints_every_members_fields(capsys):
    from lstmbench.cli import main

    argv = ["train", "--replicates", "3", "--sequences", "20", "--seq-len", "4", "--units", "4",
            "--epochs", "2", "--all-epochs", "--xla", "off", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replicates"] == 3 and out["spec"]["train"]["replicates"] == 3
    assert out["member_seeds"] == [0, 1_000_000, 2_000_000]
    for key in ("member_epochs", "member_best_val_accuracy", "member_train_s", "member_diverged",
                "member_val_accuracy", "member_train_loss", "member_val_loss"):
        assert len(out[key]) == 3, key
    assert all(len(curve) == 2 for curve in out["member_val_accuracy"])
    assert out["converged_share"] == sum(e is not None for e in out["member_epochs"]) / 3
    assert "time_to_solution_s" in out and "median_epoch" in out


# --------------------------------------------------------------------------- heads and features


@pytest.mark.parametrize("features", [1, 3], ids=["F1", "F3"])
@pytest.mark.parametrize("kind", ["binary", "softmax", "linear"])
def test_member_i_is_the_one_member_run_of_its_seed_for_every_head(kind, features):
    """K=3 members with a binary, softmax (4 classes) or linear head on F features: each
    member's losses and predictions are its one-member run's, within 1e-5."""
    head = HEADS[kind]
    x, y = head_data(head, features)
    model = ModelConfig(stateful=True, timesteps=2, batch_size=4, units=4)
    evalset = eval_set(x, y, model, head=head)

    def run(spec: TrialSpec) -> tuple[np.ndarray, np.ndarray]:
        def batches(epoch: int):
            return population_batches(x, y, model, seeds=spec.member_seeds, epoch=epoch,
                                      shuffle=True, head=head)

        population = make_population(spec, batches(1), evalset)
        population.warm_up(batches(1), evalset)
        losses = [population.train_epoch(batches(e)) for e in range(1, EPOCHS + 1)]
        return np.array(losses), population.predict(evalset)

    spec = TrialSpec(model=model, train=TrainSpec(replicates=3), seed=11)
    losses, preds = run(spec)
    n_chunks, n_samples = evalset.xv.shape[:2]
    outputs = (head.n_outputs,) if kind == "softmax" else ()
    assert losses.shape == (EPOCHS, 3) and preds.shape == (3, n_chunks, n_samples, *outputs)
    for i in range(3):
        one_losses, one_preds = run(spec.member_spec(i))
        np.testing.assert_allclose(losses[:, i], one_losses[:, 0], atol=TOLERANCE, err_msg=f"member {i}")
        np.testing.assert_allclose(preds[i], one_preds[0], atol=TOLERANCE, err_msg=f"member {i}")
    assert np.ptp(losses[0]) > 100 * TOLERANCE  # three different runs


def test_two_live_populations_of_one_program_shape_keep_their_own_weights():
    """Two populations built for the same program (same shapes, other seeds), trained and
    evaluated in turn epoch by epoch, each compute exactly what they compute alone."""
    model = ModelConfig(stateful=True, timesteps=5, batch_size=7, units=8)
    data = make_task(TaskSpec(), 0)
    evalset = eval_set(data.x_val, data.y_val, model)
    specs = [TrialSpec(model=model, train=TrainSpec(replicates=2), seed=s) for s in (1, 2)]

    def batches(spec: TrialSpec, epoch: int):
        return population_batches(data.x_train, data.y_train, model, seeds=spec.member_seeds,
                                  epoch=epoch, shuffle=True)

    def start(spec: TrialSpec):
        population = make_population(spec, batches(spec, 1), evalset)
        population.warm_up(batches(spec, 1), evalset)
        return population

    alone = []
    for spec in specs:
        population = start(spec)
        alone.append([(population.train_epoch(batches(spec, e)), population.predict(evalset))
                      for e in range(1, EPOCHS + 1)])
    together = [start(spec) for spec in specs]  # the second built while the first is live
    assert together[0]._program is together[1]._program  # one program: the case at stake
    runs: list[list] = [[], []]
    for e in range(1, EPOCHS + 1):
        for run, spec, population in zip(runs, specs, together):
            run.append((population.train_epoch(batches(spec, e)), population.predict(evalset)))
    for run, own in zip(runs, alone):
        for (losses, preds), (own_losses, own_preds) in zip(run, own):
            np.testing.assert_array_equal(losses, own_losses)
            np.testing.assert_array_equal(preds, own_preds)
    assert not np.array_equal(runs[0][-1][1], runs[1][-1][1])  # two different models
