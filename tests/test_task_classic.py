"""The built-in long-lag tasks: their data, their lag, and their exact stateless ceilings."""

from __future__ import annotations

import numpy as np
import pytest

from lstmbench.spec import ModelConfig, TaskSpec
from lstmbench.tasks import Task, best_constant, make_task
from lstmbench.tasks._classic import adding_marks, temporal_positions

KINDS = ("two-sequence", "adding", "temporal-order")


def informative(kind: str, x: np.ndarray, spec: TaskSpec) -> np.ndarray:
    """Boolean (n, L): the steps of each sequence its target depends on, read off the data."""
    if kind == "two-sequence":
        steps = np.zeros(x.shape[:2], bool)
        steps[:, : spec.n_info] = True
        return steps
    if kind == "adding":
        return x[..., 1] == 1.0  # the markers
    return x[..., 4:6].any(axis=-1)  # the X / Y symbols


@pytest.mark.parametrize("kind", KINDS)
def test_each_task_is_seeded_shaped_and_validates_on_unseen_sequences(kind):
    spec = TaskSpec(kind=kind)
    a, b = make_task(spec, 3), make_task(spec, 3)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == np.float32
    F = {"two-sequence": 1, "adding": 2, "temporal-order": 8}[kind]
    assert a.x_train.shape == (spec.n_train, spec.seq_len, F)
    assert a.x_val.shape == (spec.n_val, spec.seq_len, F)
    assert not np.array_equal(make_task(spec, 4).x_train, a.x_train)
    train = {row.tobytes() for row in a.x_train}
    assert not any(row.tobytes() in train for row in a.x_val)  # every sequence is new


def test_two_sequence_holds_the_class_in_its_first_steps_and_noise_of_variance_0_2():
    spec = TaskSpec(kind="two-sequence", n_sequences=2000, seq_len=30, n_info=3)
    d = make_task(spec, 0)
    x, y = np.concatenate([d.x_train, d.x_val])[..., 0], np.concatenate([d.y_train, d.y_val])
    np.testing.assert_array_equal(x[:, :3], np.where(y == 1, 1.0, -1.0)[:, None].repeat(3, 1))
    assert y.mean() == 0.5
    # 2000 x 27 normal draws: the variance is within 0.01 of 0.2, the same in both classes
    assert abs(x[:, 3:].var() - 0.2) < 0.01
    assert abs(x[y == 1, 3:].mean() - x[y == 0, 3:].mean()) < 0.02


def test_adding_marks_two_steps_and_its_target_is_their_sum():
    spec = TaskSpec(kind="adding", n_sequences=3000, seq_len=40)
    d = make_task(spec, 1)
    x, y = d.x_train, d.y_train
    marks = x[..., 1] == 1
    assert (marks.sum(axis=1) == 2).all()
    first, second = adding_marks(40)
    steps = np.argwhere(marks)[:, 1].reshape(-1, 2)
    assert steps.max() < second and (steps[:, 0] < first).all()
    total = (x[..., 0] * marks).sum(axis=1)
    np.testing.assert_allclose(y, 0.5 + total / 4, atol=1e-6)
    assert (np.abs(x[..., 0]) <= 1).all() and abs(y.mean() - 0.5) < 0.01


def test_temporal_order_classes_are_the_order_of_x_and_y():
    spec = TaskSpec(kind="temporal-order", n_sequences=800, seq_len=50)
    d = make_task(spec, 2)
    x, y = d.x_train, d.y_train
    assert (x.sum(axis=-1) == 1).all()  # one-hot
    symbols = x.argmax(axis=-1)
    assert (symbols[:, 0] == 6).all() and (symbols[:, -1] == 7).all()  # B ... E
    (a1, b1), (a2, b2) = temporal_positions(50)
    assert (a1, b1, a2, b2) == (5, 10, 25, 30)  # the paper's [10, 20], [50, 60] of 100, halved
    for row, label in zip(symbols, y):
        where = np.flatnonzero((row == 4) | (row == 5))
        assert len(where) == 2
        assert a1 <= where[0] <= b1 and a2 <= where[1] <= b2
        assert label == 2 * (row[where[0]] - 4) + (row[where[1]] - 4)
    assert np.bincount(y.astype(int)).min() >= 0.2 * len(y)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seq_len", [12, 20, 37])
def test_lag_and_blind_hold_for_every_sequence_and_are_tight(kind, seq_len):
    """Checked on every sequence of a large draw: a final window of ``lag`` steps holds every
    informative step, one of ``blind`` holds none; one step less / more breaks it somewhere."""
    spec = TaskSpec(kind=kind, n_sequences=4000, seq_len=seq_len)
    task = Task(spec)
    d = task.make(0)
    steps = informative(kind, d.x_train, spec)
    L = seq_len

    def seen(W: int) -> np.ndarray:  # per sequence: informative steps inside the last W
        return steps[:, L - W:].sum(axis=1)

    total = steps.sum(axis=1)
    lag, blind = task.lag, task.blind
    if kind == "two-sequence":  # any one informative step holds the whole class
        assert (seen(lag) >= 1).all() and (seen(lag - 1) == 0).all()
    else:
        assert (seen(lag) == total).all() and (seen(lag - 1) < total).any()
    assert (seen(blind) == 0).all() and (seen(blind + 1) > 0).any()


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_best_constant_matches_a_brute_force_search(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        y = np.round(rng.uniform(0, 1, n), 2).astype(np.float32)  # ties and near-ties
        tol = float(rng.choice([0.01, 0.04, 0.1]))
        # Exhaustive: a set of targets some c lies within tol of has c = the midpoint of its
        # lowest and highest member among the candidates; every pair's midpoint is tried.
        y64 = y.astype(np.float64)
        grid = ((y64[:, None] + y64[None, :]) / 2).ravel()
        brute = max(np.mean(np.abs(y64 - c) < tol) for c in grid)
        assert best_constant(y, classes=False, tolerance=tol) == pytest.approx(brute)
        labels = rng.integers(0, 4, n).astype(np.float32)
        brute = max(np.mean(labels == c) for c in range(4))
        assert best_constant(labels, classes=True, tolerance=None) == pytest.approx(brute)


def test_the_ceiling_of_a_blind_final_window_is_the_best_input_free_guess():
    for kind in KINDS:
        task = Task(TaskSpec(kind=kind))
        d = task.make(0)
        blind = ModelConfig(stateful=False, batch_size=8, units=4, window=task.blind)
        expected = best_constant(d.y_val, classes=kind != "adding", tolerance=task.tolerance)
        assert task.ceiling(blind, d) == expected
        assert expected < 0.7  # far from converged: a guess that ignores the input
        whole = ModelConfig(stateful=False, batch_size=8, units=4, window=task.lag)
        assert task.ceiling(whole, d) == 1.0
        stateful = ModelConfig(stateful=True, batch_size=8, units=4, timesteps=1)
        assert task.ceiling(stateful, d) == 1.0
        between = range(task.blind + 1, task.lag)
        assert all(task.ceiling(ModelConfig(stateful=False, batch_size=8, units=4, window=W), d)
                   is None for W in between)


def test_adding_blind_ceiling_is_near_the_triangular_law():
    """0.5 + (X1 + X2) / 4 has the density 2 - 4|y - 0.5|: within 0.04 of 0.5, 0.1536."""
    task = Task(TaskSpec(kind="adding", n_sequences=20000, val_fraction=0.5))
    d = task.make(0)
    assert abs(best_constant(d.y_val, classes=False, tolerance=0.04) - 0.1536) < 0.015


def test_first_bit_final_metric_and_per_sample_ceilings():
    spec = TaskSpec()
    d = make_task(spec, 0)
    w10 = ModelConfig(stateful=False, batch_size=11, units=8, window=10)
    assert Task(spec).ceiling(w10, d) == pytest.approx(6 / 11)  # the notebook's 0.545
    final = Task(TaskSpec(metric="final"))
    assert final.metric == "final" and final.ceiling(w10, d) == 0.5  # a last window is all zeros


def test_heads_metrics_and_tolerances_per_task():
    heads = {k: Task(TaskSpec(kind=k)) for k in ("first-bit", *KINDS)}
    assert {k: (t.head.kind, t.head.n_outputs) for k, t in heads.items()} == {
        "first-bit": ("binary", 1), "two-sequence": ("binary", 1), "adding": ("linear", 1),
        "temporal-order": ("softmax", 4)}
    assert {k: t.metric for k, t in heads.items()} == {
        "first-bit": "per-sample", "two-sequence": "final", "adding": "final",
        "temporal-order": "final"}
    assert heads["adding"].tolerance == 0.04 and heads["two-sequence"].tolerance is None
    assert Task(TaskSpec(kind="adding", tolerance=0.1)).tolerance == 0.1
    assert Task(TaskSpec(kind="adding", metric="per-sample")).metric == "per-sample"


@pytest.mark.parametrize(("kind", "head"), [("two-sequence", "binary"), ("adding", "linear"),
                                            ("temporal-order", "softmax")])
def test_train_runs_each_built_in_task(kind, head, capsys):
    import json

    from lstmbench.cli import main

    assert main(["train", "--task", kind, "--stateful", "--timesteps", "5", "--batch-size", "10",
                 "--epochs", "2", "--replicates", "2", "--all-epochs", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["spec"]["task"]["kind"] == kind and r["metric"] == "final"
    assert r["tolerance"] == (0.04 if kind == "adding" else None)
    assert r["epochs_run"] == 2 and len(r["member_val_accuracy"]) == 2
    assert all(0.0 <= v <= 1.0 for curve in r["member_val_accuracy"] for v in curve)
    assert r["ceiling"] == 1.0  # stateful: the whole sequence is seen


@pytest.mark.parametrize(("argv", "names"), [
    (["--task", "adding", "--noise", "0.1"], ["--noise", "first-bit's"]),
    (["--task", "adding", "--seq-len", "4"], ["seq_len=4", "adding", ">= 6"]),
    (["--task", "temporal-order", "--sequences", "6"], ["n_sequences=6", ">= 8"]),
    (["--data", "x.npz", "--seq-len", "30"], ["--seq-len", "its own sequences"]),
    (["--task", "adding", "--data", "x.npz"], ["not allowed with argument"]),
])
def test_task_flags_are_refused_in_one_line(argv, names, capsys):
    from lstmbench.cli import main

    try:
        code = main(["train", *argv])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(("lstmbench", "usage"))
    for name in names:
        assert name in err
