"""The first-bit task and the best accuracy a stateless model can reach on it. numpy only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lstmbench.spec import TaskSpec


@dataclass(frozen=True)
class FirstBitData:
    """Train and validation sequences ``(n, seq_len)`` (float32) with their labels ``(n,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def make_task(spec: TaskSpec, seed: int) -> FirstBitData:
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
    return FirstBitData(data[train], labels[train], data[val], labels[val])


def stratified_split(labels: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (train, test) indices exactly as scikit-learn's ``train_test_split(...,
    test_size=test_size, random_state=seed, stratify=labels)`` draws them (its
    ``StratifiedShuffleSplit``, the same calls on the same ``RandomState``).

    Written out because importing scikit-learn (and with it SciPy) cost every worker process
    ~1.5 s of start-up for this one function; ``tests/test_task.py`` checks it against
    scikit-learn over many seeds and sizes.
    """
    n = len(labels)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    _, y_indices, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(class_counts):
        raise ValueError(f"cannot split {n} samples of {len(class_counts)} classes "
                         f"(counts {class_counts.tolist()}) with test_size={test_size}")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, count in enumerate(class_counts):
        members = class_indices[i].take(rng.permutation(count), mode="clip")
        train.extend(members[: n_i[i]])
        test.extend(members[n_i[i]: n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(class_counts: np.ndarray, n_draws: int,
                      rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn's ``_approximate_mode``: draws per class, ties broken by ``rng``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


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
