"""Scoring: one function for every head, metric and tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmbench.feeding import Head, eval_set
from lstmbench.spec import ModelConfig
from lstmbench.tasks import score

BINARY, LINEAR, SOFTMAX3 = Head(), Head("linear"), Head("softmax", 3)


def test_binary_per_sample_scores_every_prediction():
    probs = np.array([[0.9, 0.2, 0.6], [0.8, 0.4, 0.3]])  # 2 chunks x 3 sequences
    y = np.array([1.0, 0.0, 1.0], np.float32)
    loss, acc = score(probs, y, head=BINARY, metric="per-sample", tolerance=None, sequences=3)
    assert acc == pytest.approx(5 / 6)
    p = probs.ravel()
    t = np.tile(y, 2)
    assert loss == pytest.approx(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))


def test_final_scores_the_last_chunk_of_each_sequence():
    probs = np.array([[0.1, 0.9, 0.1], [0.9, 0.1, 0.9]])
    y = np.array([1.0, 0.0, 1.0], np.float32)
    _, acc = score(probs, y, head=BINARY, metric="final", tolerance=None, sequences=3)
    assert acc == 1.0
    _, acc = score(probs[:1], y, head=BINARY, metric="final", tolerance=None, sequences=3)
    assert acc == 0.0


def test_final_of_stateless_windows_is_the_window_that_ends_each_sequence():
    """The evaluation set is sequence-major: ``final`` must pick each sequence's last window."""
    n, L, W = 4, 6, 3
    x = np.arange(n * L, dtype=np.float32).reshape(n, L)
    y = np.array([0, 1, 0, 1], np.float32)
    ev = eval_set(x, y, ModelConfig(stateful=False, window=W, batch_size=2, units=2))
    assert ev.xv.shape == (1, n * (L - W + 1), W, 1)
    # a "model" that is right exactly when its window ends the sequence
    last = ev.xv[0, :, -1, 0] % L == L - 1
    probs = np.where(last, ev.yv, 1 - ev.yv)[None]
    _, final = score(probs, ev.yv, head=BINARY, metric="final", tolerance=None, sequences=n)
    _, every = score(probs, ev.yv, head=BINARY, metric="per-sample", tolerance=None, sequences=n)
    assert final == 1.0 and every == pytest.approx(1 / (L - W + 1))


def test_softmax_scores_the_most_probable_class_and_cross_entropy():
    probs = np.array([[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3]]])
    y = np.array([0, 2, 0], np.float32)
    loss, acc = score(probs, y, head=SOFTMAX3, metric="final", tolerance=None, sequences=3)
    assert acc == pytest.approx(2 / 3)
    assert loss == pytest.approx(-(math.log(0.7) + math.log(0.6) + math.log(0.3)) / 3)


def test_regression_is_right_within_its_tolerance():
    values = np.array([[0.50, 0.30, 0.90, 0.12]])
    y = np.array([0.53, 0.35, 0.80, 0.10], np.float32)
    loss, acc = score(values, y, head=LINEAR, metric="final", tolerance=0.04, sequences=4)
    assert acc == 0.5  # |error| 0.03, 0.05, 0.10, 0.02
    assert loss == pytest.approx(np.mean((values[0] - y.astype(np.float64)) ** 2))
    _, wide = score(values, y, head=LINEAR, metric="final", tolerance=0.2, sequences=4)
    assert wide == 1.0
    with pytest.raises(ValueError, match="tolerance"):
        score(values, y, head=LINEAR, metric="final", tolerance=None, sequences=4)
