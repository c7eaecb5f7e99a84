"""Hochreiter & Schmidhuber's long-lag problems (1997, "Long Short-Term Memory"). numpy only.

Each keeps its experiment's structure at a length of ``seq_len`` steps (every sequence the same
length, which both layouts need); where the paper fixes positions for T = 100 they are scaled
with the length. Every sequence is drawn afresh, so validation means unseen sequences.

- ``two-sequence`` (experiment 3a): the first ``n_info`` steps hold the class as +1 / -1, every
  later step is Gaussian noise of variance 0.2.
- ``adding`` (experiment 4): F = 2, a value in U[-1, 1] and a marker; one marked step among the
  first 10 (at most ``L/2 - 1``), another before ``L/2 - 1``; the target is
  ``0.5 + (X1 + X2) / 4``. (The paper's sequences vary in length, T to 1.1 T, and mark their
  first and last steps with -1; here every sequence has L steps and only the two marks.)
- ``temporal-order`` (experiment 6a): one-hot symbols a, b, c, d (distractors), X, Y, B (the
  first step), E (the last); X or Y at one step in ``[L/10, L/5]`` and one in ``[L/2, 3L/5]``;
  the class is the ordered pair: XX, XY, YX, YY.
"""

from __future__ import annotations

import math

import numpy as np

from lstmbench.spec import TaskSpec
from lstmbench.tasks._data import TaskData
from lstmbench.tasks._split import stratified_split

TWO_SEQUENCE_VARIANCE = 0.2  # the paper's noise after the informative steps
TEMPORAL_SYMBOLS = 8  # a, b, c, d, X, Y, B, E
_X, _B, _E = 4, 6, 7


def two_sequence(spec: TaskSpec, seed: int) -> TaskData:
    """Return two-sequence data: class 1 starts with ``n_info`` steps of +1, class 0 of -1."""
    rng = np.random.default_rng(seed)
    n, L = spec.n_sequences, spec.seq_len
    y = np.zeros(n, np.float32)
    y[rng.choice(n, n // 2, replace=False)] = 1.0  # exactly half of each class, like first-bit
    x = rng.normal(0.0, math.sqrt(TWO_SEQUENCE_VARIANCE), (n, L)).astype(np.float32)
    x[:, : spec.n_info] = np.where(y == 1, 1.0, -1.0)[:, None]
    return _stratified(spec, x[..., None], y, seed)


def adding_marks(seq_len: int) -> tuple[int, int]:
    """(first, second): the first mark falls in steps ``0..first-1``, the second in ``0..second-1``."""
    second = seq_len // 2 - 1
    return min(10, second), second


def adding(spec: TaskSpec, seed: int) -> TaskData:
    """Return adding data: ``x (n, L, 2)`` of (value, marker), target 0.5 + (X1 + X2) / 4."""
    rng = np.random.default_rng(seed)
    n, L = spec.n_sequences, spec.seq_len
    values = rng.uniform(-1.0, 1.0, (n, L)).astype(np.float32)
    m1, m2 = adding_marks(L)
    first = rng.integers(0, m1, n)
    second = rng.integers(0, m2 - 1, n)
    second += second >= first  # any step before m2 but the first mark's
    rows = np.arange(n)
    markers = np.zeros((n, L), np.float32)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (0.5 + (values[rows, first].astype(np.float64) + values[rows, second]) / 4).astype(np.float32)
    x = np.stack([values, markers], axis=-1)
    order = np.random.default_rng([seed, 1]).permutation(n)  # a regression: a plain random split
    val, train = order[: spec.n_val], order[spec.n_val:]
    return TaskData(x[train], y[train], x[val], y[val])


def temporal_positions(seq_len: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The steps (lowest, highest) the first and the second X/Y symbol fall on: the paper's
    [10, 20] and [50, 60] of 100 steps, scaled to ``seq_len``."""
    L = seq_len
    a1 = max(1, round(L * 0.1))
    b1 = max(a1, round(L * 0.2))
    a2 = max(b1 + 1, round(L * 0.5))
    b2 = min(L - 2, max(a2, round(L * 0.6)))
    return (a1, b1), (a2, b2)


def temporal_order(spec: TaskSpec, seed: int) -> TaskData:
    """Return temporal-order data: ``x (n, L, 8)`` one-hot, class = 2 * first + second (X=0, Y=1)."""
    rng = np.random.default_rng(seed)
    n, L = spec.n_sequences, spec.seq_len
    y = rng.permutation(np.arange(n) % 4)  # the four classes as even as n allows
    symbols = rng.integers(0, 4, (n, L))
    symbols[:, 0], symbols[:, -1] = _B, _E
    (a1, b1), (a2, b2) = temporal_positions(L)
    rows = np.arange(n)
    symbols[rows, rng.integers(a1, b1 + 1, n)] = _X + y // 2
    symbols[rows, rng.integers(a2, b2 + 1, n)] = _X + y % 2
    x = np.eye(TEMPORAL_SYMBOLS, dtype=np.float32)[symbols]
    return _stratified(spec, x, y.astype(np.float32), seed)


def _stratified(spec: TaskSpec, x: np.ndarray, y: np.ndarray, seed: int) -> TaskData:
    train, val = stratified_split(y, spec.val_fraction, seed)
    return TaskData(x[train], y[train], x[val], y[val])
