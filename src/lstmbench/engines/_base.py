"""The small interface every engine offers the trial runner."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from lstmbench.feeding import Batches, EvalSet


class Engine(Protocol):
    """Trains one model on batches of chunks; knows nothing of studies or timing."""

    name: str
    jit: bool  # whether XLA compiles the training step
    n_params: int

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        """Trace and compile everything once, then restore the initial weights and optimizer."""

    def train_epoch(self, batches: Batches) -> float:
        """Train one epoch; return the mean of the head's loss over its updates (NaN if it
        diverged)."""

    def predict(self, evalset: EvalSet) -> np.ndarray:
        """Return the head's predictions, state from zero, carried across chunks: binary ->
        probabilities ``(n_chunks, N)``; softmax -> probabilities ``(n_chunks, N, C)``;
        linear -> values ``(n_chunks, N)``."""
