"""What an engine eats: the two layouts of a task's sequences as numpy arrays. numpy only.

Sequences are ``x (N, L, F)`` (or ``(N, L)``, one feature) with one target per sequence. Both
layouts share one shape so that one engine serves both arms:

- training batches ``xs (n_batches, n_chunks, B, T, F)`` with targets ``ys (n_batches, B)``:
  the state starts at zero for every batch, is carried from chunk k to k+1 inside it, and each
  chunk is one optimizer step with one prediction per sample (at the chunk's last step);
- evaluation ``xv (n_chunks, N, T, F)`` with ``yv (N,)``: all N samples side by side, state
  from zero, one prediction per chunk.

Stateless is the case ``n_chunks = 1``, ``T = window``: a batch is ``B`` windows, each from zero.
Stateful is ``T = timesteps``, ``n_chunks = seq_len / T``: a batch is ``B`` whole sequences.

A population of K members (``population_batches``) gains a member axis after the chunk axis:
``xs (n_batches, n_chunks, K, B, T, F)``, ``ys (n_batches, K, B)``; member i's slice is exactly
the one-member batches of its seed, so update ``(b, k)`` feeds chunk k of every member's batch b.

Targets are float32 whatever the task: 0/1 for two classes, class ids for C classes, values
for regression; the :class:`Head` that travels with them says which, and so what the model's
output layer and loss are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from lstmbench.spec import ModelConfig


@dataclass(frozen=True)
class Head:
    """The model's output layer and loss: what kind of target a task has.

    ``binary``: one sigmoid unit, binary cross-entropy, targets 0/1 (``n_outputs`` 1);
    ``softmax``: ``n_outputs`` = C classes, cross-entropy, targets class ids 0..C-1;
    ``linear``: one linear unit, mean squared error, float targets (regression).
    """

    kind: Literal["binary", "softmax", "linear"] = "binary"
    n_outputs: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("binary", "softmax", "linear"):
            raise ValueError(f"unknown head kind {self.kind!r}")
        if (self.kind == "softmax") != (self.n_outputs > 1) or self.n_outputs < 1:
            raise ValueError(f"a {self.kind} head cannot have {self.n_outputs} outputs")

    @classmethod
    def for_classes(cls, n_classes: int) -> Head:
        """Two classes: one sigmoid unit; more: a softmax over them."""
        return cls() if n_classes == 2 else cls("softmax", n_classes)


BINARY = Head()


@dataclass(frozen=True)
class Batches:
    xs: np.ndarray  # (n_batches, n_chunks, B, T, F), or (n_batches, n_chunks, K, B, T, F)
    ys: np.ndarray  # (n_batches, B), or (n_batches, K, B) with a member axis; float32
    head: Head = BINARY

    @property
    def n_updates(self) -> int:
        return self.xs.shape[0] * self.xs.shape[1]

    @property
    def n_features(self) -> int:
        return self.xs.shape[-1]

    def with_member_axis(self) -> Batches:
        """These one-model batches as a population of one."""
        return Batches(self.xs[:, :, None], self.ys[:, None], self.head)

    def member(self, i: int) -> Batches:
        """Member ``i``'s own batches, out of population batches."""
        return Batches(self.xs[:, :, i], self.ys[:, i], self.head)


@dataclass(frozen=True)
class EvalSet:
    xv: np.ndarray  # (n_chunks, N, T, F) float32
    yv: np.ndarray  # (N,) float32
    head: Head = BINARY

    @property
    def n_predictions(self) -> int:
        return self.xv.shape[0] * self.xv.shape[1]

    @property
    def n_features(self) -> int:
        return self.xv.shape[-1]


def windows(x: np.ndarray, y: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``window`` steps of each sequence, labelled with its sequence's label.

    The notebook's ``prepare_sequences``: sequence-major, window start ascending. ``x (n, L)``
    gives windows ``(n * (L - window + 1), window)``; ``x (n, L, F)`` gives ``(..., window, F)``.
    """
    n, L = x.shape[:2]
    per_seq = L - window + 1
    w = np.lib.stride_tricks.sliding_window_view(x, window, axis=1)  # (n, per_seq, [F,] window)
    if x.ndim == 3:
        w = np.moveaxis(w, -1, 2)  # (n, per_seq, window, F)
    return w.reshape(n * per_seq, window, *x.shape[2:]).astype(np.float32), np.repeat(
        y, per_seq
    ).astype(np.float32)


def _samples(x: np.ndarray, y: np.ndarray, model: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``(n, n_chunks, T, F)``: windows (one chunk each) or sequences cut into chunks."""
    x = x if x.ndim == 3 else x[..., None]
    if model.stateful:
        T = model.timesteps
        n, L, F = x.shape
        return x.reshape(n, L // T, T, F).astype(np.float32), y.astype(np.float32)
    w, wy = windows(x, y, model.window)  # type: ignore[arg-type]
    return w[:, None], wy


def train_batches(
    x: np.ndarray, y: np.ndarray, model: ModelConfig, *, seed: int, epoch: int, shuffle: bool,
    head: Head = BINARY,
) -> Batches:
    """One epoch of training batches; a last batch smaller than ``batch_size`` is dropped.

    With ``shuffle`` the samples (windows or whole sequences) are reordered per epoch from
    ``(seed, epoch)``, so both engines see the same order. A stateful model keeps each
    sequence's chunks in order: only which sequences share a batch changes.
    """
    samples, labels = _samples(x, y, model)
    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(len(samples))
        samples, labels = samples[order], labels[order]
    B = model.batch_size
    n_batches = len(samples) // B
    samples, labels = samples[: n_batches * B], labels[: n_batches * B]
    n_chunks, T, F = samples.shape[1:]
    xs = samples.reshape(n_batches, B, n_chunks, T, F).transpose(0, 2, 1, 3, 4)
    return Batches(np.ascontiguousarray(xs), labels.reshape(n_batches, B), head)


def population_batches(
    x: np.ndarray, y: np.ndarray, model: ModelConfig, *, seeds: list[int], epoch: int,
    shuffle: bool, head: Head = BINARY,
) -> Batches:
    """One epoch of :func:`train_batches` for each member seed, stacked on a member axis."""
    each = [train_batches(x, y, model, seed=s, epoch=epoch, shuffle=shuffle) for s in seeds]
    return Batches(np.stack([b.xs for b in each], axis=2), np.stack([b.ys for b in each], axis=1),
                   head)


def eval_set(x: np.ndarray, y: np.ndarray, model: ModelConfig, *, head: Head = BINARY) -> EvalSet:
    """All validation samples side by side; the state starts from zero (never from training)."""
    samples, labels = _samples(x, y, model)
    xv = samples.transpose(1, 0, 2, 3)  # (n_chunks, N, T, F)
    return EvalSet(np.ascontiguousarray(xv), labels, head)
