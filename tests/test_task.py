from __future__ import annotations

import itertools

import numpy as np
import pytest

from lstmbench.feeding import windows
from lstmbench.spec import TaskSpec, load_study_spec
from lstmbench.tasks import ceiling, make_task, window_ceiling

# sha256 of (shape, dtype, bytes) of x_train, y_train, x_val, y_val as lstmbench.task made them
# before the tasks package (commit f3f6c89): every stored first-bit trial's data.
FIRST_BIT_BEFORE = [
    (TaskSpec(), 0, "71f1a1e6a03a8b88c19cc2d9eb502d62"),
    (TaskSpec(), 7, "0203045d470f19d0e8746fee6fa983a3"),
    (TaskSpec(n_sequences=400, noise=0.3), 1, "4ff1359d86ebe702797d8db1a43f34ae"),
    (TaskSpec(n_sequences=37, seq_len=7, val_fraction=0.25), 5, "00afae50ff2608d9739f66038fc28396"),
    (TaskSpec(n_sequences=100, seq_len=200), 3, "96eeb71b90478ee433a86dcb6e7e4b87"),
]


@pytest.mark.parametrize(("spec", "seed", "digest"), FIRST_BIT_BEFORE)
def test_first_bit_arrays_are_bit_identical_to_before_the_tasks_package(spec, seed, digest):
    import hashlib

    data = make_task(spec, seed)
    h = hashlib.sha256()
    for a in (data.x_train, data.y_train, data.x_val, data.y_val):
        h.update(str(a.shape).encode())
        h.update(str(a.dtype).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    assert h.hexdigest()[:32] == digest


# The default study's own settings changed on purpose (40 blind draws: n_startup_trials), so its
# row pins its new hash; the task's new settings still leave every hash as it was.
@pytest.mark.parametrize(("study", "digest"), [
    ("default", "416cba111e0f812b"), ("seed-notebook", "33a5dbeb7a229ccc"),
    ("memory-horizon", "ac49673cf6ec434f"), ("a-vs-a", "689060fc5cf45f07"),
])
def test_shipped_first_bit_studies_keep_their_hash(study, digest):
    """The task's new settings count only when set: studies stored before them still join."""
    assert load_study_spec(study).hash() == digest


def test_task_matches_the_notebook_shape_and_is_deterministic():
    spec = TaskSpec()
    a, b = make_task(spec, 3), make_task(spec, 3)
    assert a.x_train.shape == (90, 20) and a.x_val.shape == (10, 20)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    y = np.concatenate([a.y_train, a.y_val])
    assert y.sum() == 50  # exactly half positive
    x = np.concatenate([a.x_train, a.x_val])
    np.testing.assert_array_equal(x[:, 0], y)  # the label is the first bit
    assert x[:, 1:].sum() == 0
    assert any(not np.array_equal(make_task(spec, s).x_train, a.x_train) for s in range(4, 8))


def test_noise_never_carries_the_label():
    data = make_task(TaskSpec(n_sequences=400, noise=0.3), 0)
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    np.testing.assert_array_equal(x[:, 0], y)
    share = x[:, 1:].mean()
    assert 0.27 < share < 0.33  # 400*19 Bernoulli(0.3) draws: sd 0.005
    # the noise is independent of the label: same rate in both classes within 0.03
    assert abs(x[y == 1, 1:].mean() - x[y == 0, 1:].mean()) < 0.03


def brute_force_ceiling(seq_len: int, window: int, n_pos: int, n_neg: int) -> float:
    """Best accuracy of any labelling of window contents, found by trying every labelling."""
    x = np.zeros((n_pos + n_neg, seq_len))
    x[:n_pos, 0] = 1
    y = x[:, 0].copy()
    w, wy = windows(x, y, window)
    keys = [tuple(row) for row in w]
    distinct = sorted(set(keys))
    best = 0.0
    for labels in itertools.product([0.0, 1.0], repeat=len(distinct)):
        table = dict(zip(distinct, labels))
        pred = np.array([table[k] for k in keys])
        best = max(best, float(np.mean(pred == wy)))
    return best


@pytest.mark.parametrize("seq_len", [1, 2, 5, 8])
@pytest.mark.parametrize(("n_pos", "n_neg"), [(1, 1), (3, 7), (7, 3), (5, 5), (2, 1)])
def test_ceiling_formula_matches_brute_force(seq_len, n_pos, n_neg):
    for window in range(1, seq_len + 1):
        p = n_pos / (n_pos + n_neg)
        expected = brute_force_ceiling(seq_len, window, n_pos, n_neg)
        assert ceiling(seq_len, window, p) == pytest.approx(expected, abs=1e-12)
        x = np.zeros((n_pos + n_neg, seq_len))
        x[:n_pos, 0] = 1
        w, wy = windows(x, x[:, 0], window)
        assert window_ceiling(w, wy) == pytest.approx(expected, abs=1e-12)


def test_ceiling_of_the_notebook_configuration():
    assert ceiling(20, 10, 0.5) == pytest.approx(6 / 11)  # 0.545
    assert ceiling(20, 20, 0.5) == 1.0
    assert ceiling(20, 1, 0.5) == pytest.approx(10.5 / 20)


@pytest.mark.parametrize("n", [10, 20, 37, 100, 101, 200])
@pytest.mark.parametrize("test_size", [0.1, 0.25, 1 / 3])
def test_split_is_scikit_learns(n, test_size):
    """``stratified_split`` draws exactly what ``train_test_split(..., stratify=labels)`` draws."""
    from sklearn.model_selection import train_test_split

    from lstmbench.tasks import stratified_split

    for seed in range(40):
        labels = np.zeros(n, np.float32)
        labels[np.random.default_rng(seed).choice(n, n // 2 + seed % 3, replace=False)] = 1
        index = np.arange(n)
        try:
            train, test = train_test_split(index, test_size=test_size, random_state=seed,
                                           stratify=labels)
        except ValueError:  # too few samples for a class on one side: refused by both
            with pytest.raises(ValueError):
                stratified_split(labels, test_size, seed)
            continue
        ours = stratified_split(labels, test_size, seed)
        np.testing.assert_array_equal(ours[0], train)
        np.testing.assert_array_equal(ours[1], test)
