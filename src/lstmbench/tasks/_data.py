"""What a task makes: train and validation sequences with one target each. numpy only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaskData:
    """Train and validation sequences with one target per sequence.

    ``x`` is ``(n, L, F)`` float32 — or ``(n, L)`` for first-bit, exactly the notebook's arrays
    (``feeding`` reads both). ``y`` is ``(n,)``: class ids 0..C-1, or float targets.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
