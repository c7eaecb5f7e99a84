"""How validation is scored: one function for every head, metric and tolerance. numpy only.

``per-sample`` scores every prediction the layout makes — every window (stateless), every chunk
(stateful) — against its sequence's target: the notebook's, which first-bit's ceiling is
defined for. ``final`` scores one prediction per validation sequence, after its last step (its
last window, or its last chunk): what a user of the model reads off. The score is the share
right — the predicted class, or for a regression a value within ``tolerance`` of the target —
so that "converged" (score >= target) means the same for every task.
"""

from __future__ import annotations

import numpy as np

from lstmbench.feeding import Head

EPS = 1e-7  # probabilities are clipped to [EPS, 1 - EPS] before the log, as Keras does


def score(predictions: np.ndarray, targets: np.ndarray, *, head: Head, metric: str,
          tolerance: float | None, sequences: int) -> tuple[float, float]:
    """Return (loss, score) of an evaluation's predictions.

    ``predictions``: an engine's ``predict`` for one model, ``(n_chunks, N)`` (binary: the
    probability of class 1; linear: the value) or ``(n_chunks, N, C)`` (softmax probabilities).
    ``targets``: ``(N,)``, the evaluation set's. ``sequences``: how many validation sequences
    the N samples come from (N for stateful chunks, N / windows-per-sequence for stateless
    windows, which are sequence-major). The loss is the head's (binary or categorical
    cross-entropy, mean squared error) over the scored predictions.
    """
    if metric == "final":
        predictions, targets = _final(predictions, targets, sequences)
    elif metric != "per-sample":
        raise ValueError(f"unknown metric {metric!r}")
    n_chunks = predictions.shape[0]
    y = np.broadcast_to(targets[None, :], (n_chunks, len(targets)))
    if head.kind == "binary":
        p = np.clip(predictions.astype(np.float64), EPS, 1 - EPS)
        loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        return loss, float(np.mean((predictions > 0.5) == (y > 0.5)))
    if head.kind == "softmax":
        classes = y.astype(np.int64)
        p = np.take_along_axis(predictions.astype(np.float64), classes[..., None], axis=-1)[..., 0]
        loss = float(-np.mean(np.log(np.clip(p, EPS, 1.0))))
        return loss, float(np.mean(np.argmax(predictions, axis=-1) == classes))
    if tolerance is None:
        raise ValueError("a regression is scored within a tolerance: give one")
    error = predictions.astype(np.float64) - y
    return float(np.mean(error**2)), float(np.mean(np.abs(error) < tolerance))


def _final(predictions: np.ndarray, targets: np.ndarray,
           sequences: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's last prediction: the last chunk's, of its last window."""
    last = predictions[-1]
    per_sequence = len(targets) // sequences
    if per_sequence * sequences != len(targets):
        raise ValueError(f"{len(targets)} samples do not come from {sequences} sequences")
    pick = np.arange(per_sequence - 1, len(targets), per_sequence)
    return last[pick][None], targets[pick]


def best_constant(targets: np.ndarray, *, classes: bool, tolerance: float | None) -> float:
    """Return the best score of a guess that ignores the input: the majority class's share, or
    for a regression the most targets any one value lies within ``tolerance`` of."""
    n = len(targets)
    if classes:
        return float(np.bincount(targets.astype(np.int64)).max() / n)
    if tolerance is None:
        raise ValueError("a regression is scored within a tolerance: give one")
    # |y - c| < tol holds for the y in an open interval of width 2 tol; the best one starts just
    # below a target and holds every target up to (not including) that target + 2 tol.
    y = np.sort(targets.astype(np.float64))
    return float(np.max(np.searchsorted(y, y + 2 * tolerance, side="left") - np.arange(n)) / n)
