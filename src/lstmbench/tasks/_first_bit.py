"""The notebook's first-bit task and the best accuracy a stateless model can reach on it."""

from __future__ import annotations

import numpy as np

from lstmbench.spec import TaskSpec
from lstmbench.tasks._data import TaskData
from lstmbench.tasks._split import stratified_split


def first_bit(spec: TaskSpec, seed: int) -> TaskData:
    """Return the notebook's task: exactly half the sequences start with 1, the label is that bit.

    Deterministic for a seed; the split is scikit-learn's ``train_test_split`` like the notebook's,
    stratified on the label: both splits keep the task's 50/50, so the stateless ceiling is the
    notebook's 0.545 (L=20, W=10) at every seed instead of a coin flip of the split. It is
    computed by :func:`stratified_split`, the same draws without importing scikit-learn.
    """
    rng = np.random.default_rng(seed)
    n, L = spec.n_sequences, spec.seq_len
    data = np.zeros((n, L), dtype=np.float32)
    if spec.noise > 0 and L > 1:
        data[:, 1:] = rng.random((n, L - 1)) < spec.noise
    data[:, 0] = 0.0
    data[rng.choice(n, n // 2, replace=False), 0] = 1.0
    labels = data[:, 0].copy()
    train, val = stratified_split(labels, spec.val_fraction, seed)
    return TaskData(data[train], labels[train], data[val], labels[val])


def ceiling(seq_len: int, window: int, positive_share: float) -> float:
    """Best accuracy any stateless model on all windows of ``window`` steps can reach (no noise).

    Only the window that starts at step 0 of a positive sequence holds the bit; every other
    window is all zeros for both classes, so one label must serve them all. With ``p`` the share
    of positives and ``k = L - W`` later windows per sequence, the all-zero windows hold
    ``p*k`` positives and ``(1-p)*(k+1)`` negatives::

        ceiling = (p + max(p*k, (1-p)*(k+1))) / (k+1)

    For ``p <= 0.5`` this is ``(1 + k*(1-p)) / (k+1)`` (0.545 for L=20, W=10, p=0.5).
    """
    if not 1 <= window <= seq_len:
        raise ValueError(f"window={window} must be in 1..{seq_len}")
    p, k = positive_share, seq_len - window
    return (p + max(p * k, (1 - p) * (k + 1))) / (k + 1)


def window_ceiling(windows: np.ndarray, labels: np.ndarray) -> float:
    """Best accuracy of any function of the window alone: the majority label of each distinct window.

    Works with noise too; on a noise-free task it equals :func:`ceiling`.
    """
    flat = windows.reshape(len(windows), -1)
    _, inverse = np.unique(flat, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    positives = np.bincount(inverse, weights=labels.astype(np.float64))
    totals = np.bincount(inverse)
    return float(np.maximum(positives, totals - positives).sum() / len(labels))
