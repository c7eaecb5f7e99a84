"""scikit-learn's stratified train/validation split, written out. numpy only."""

from __future__ import annotations

import math

import numpy as np


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
