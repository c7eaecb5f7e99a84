from __future__ import annotations

import numpy as np

from lstmbench.feeding import eval_set, train_batches, windows
from lstmbench.spec import ModelConfig


def prepare_sequences(x_train, y_train, window_length):
    """The seed notebook's function, verbatim."""
    windows = []
    windows_y = []
    for i, sequence in enumerate(x_train):
        len_seq = len(sequence)
        for window_start in range(0, len_seq - window_length + 1):
            window_end = window_start + window_length
            window = sequence[window_start:window_end]
            windows.append(window)
            windows_y.append(y_train[i])
    return np.array(windows), np.array(windows_y)


def _sequences(n=6, L=8):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(n, L)).astype(np.float32)
    return x, rng.integers(0, 2, size=n).astype(np.float32)


def test_windows_are_the_notebooks_prepare_sequences():
    x, y = _sequences()
    for w in range(1, 9):
        ours, ours_y = windows(x, y, w)
        theirs, theirs_y = prepare_sequences(x, y, w)
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours_y, theirs_y)


def test_stateful_batches_hold_whole_sequences_in_chunk_order():
    x, y = _sequences(n=7, L=8)
    model = ModelConfig(stateful=True, timesteps=2, batch_size=3, units=4)
    b = train_batches(x, y, model, seed=1, epoch=1, shuffle=True)
    assert b.xs.shape == (2, 4, 3, 2, 1)  # 7 // 3 batches, 8 / 2 chunks; one sequence dropped
    seen = []
    for batch in range(2):
        for i in range(3):
            seq = b.xs[batch, :, i, :, 0].reshape(-1)  # chunks in order rebuild the sequence
            row = int(np.flatnonzero((x == seq).all(axis=1))[0])
            assert b.ys[batch, i] == y[row]
            seen.append(row)
    assert len(set(seen)) == 6
    again = train_batches(x, y, model, seed=1, epoch=1, shuffle=True)
    np.testing.assert_array_equal(again.xs, b.xs)
    other = train_batches(x, y, model, seed=1, epoch=2, shuffle=True)
    assert not np.array_equal(other.xs, b.xs)


def test_stateless_batches_are_windows_in_one_chunk():
    x, y = _sequences(n=4, L=8)
    model = ModelConfig(stateful=False, window=3, batch_size=5, units=4)
    b = train_batches(x, y, model, seed=0, epoch=1, shuffle=False)
    w, wy = windows(x, y, 3)
    assert b.xs.shape == (24 // 5, 1, 5, 3, 1)
    np.testing.assert_array_equal(b.xs[:, 0, :, :, 0].reshape(-1, 3), w[:20])
    np.testing.assert_array_equal(b.ys.reshape(-1), wy[:20])


def test_eval_set_puts_every_sample_side_by_side():
    x, y = _sequences(n=5, L=8)
    ev = eval_set(x, y, ModelConfig(stateful=True, timesteps=4, batch_size=1, units=4))
    assert ev.xv.shape == (2, 5, 4, 1)
    np.testing.assert_array_equal(ev.xv[1, 2, :, 0], x[2, 4:])
    ev = eval_set(x, y, ModelConfig(stateful=False, window=8, batch_size=1, units=4))
    assert ev.xv.shape == (1, 5, 8, 1) and ev.n_predictions == 5


def test_several_features_keep_their_steps_together_in_both_layouts():
    rng = np.random.default_rng(3)
    x = rng.random((6, 8, 3)).astype(np.float32)
    y = np.arange(6) % 2
    w, wy = windows(x, y, 3)
    assert w.shape == (6 * 6, 3, 3) and wy.tolist() == np.repeat(y, 6).tolist()
    np.testing.assert_array_equal(w[6 * 2 + 4], x[2, 4:7])  # sequence 2, window at step 4
    for f in range(3):  # each feature alone is the one-feature layout
        one, _ = windows(x[..., f], y, 3)
        np.testing.assert_array_equal(w[..., f], one)
    stateful = ModelConfig(stateful=True, timesteps=4, batch_size=2, units=4)
    b = train_batches(x, y, stateful, seed=0, epoch=1, shuffle=False)
    assert b.xs.shape == (3, 2, 2, 4, 3) and b.n_features == 3
    np.testing.assert_array_equal(b.xs[1, 1, 0], x[2, 4:])
    ev = eval_set(x, y, ModelConfig(stateful=False, window=8, batch_size=1, units=4))
    assert ev.xv.shape == (1, 6, 8, 3)
    np.testing.assert_array_equal(ev.xv[0], x)
