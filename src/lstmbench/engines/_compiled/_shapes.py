"""The few shapes a compiled program is built for, and one configuration's data padded into them.

numpy only. A program trains *blocks* of ``BLOCK`` batches (an exact-shape program: the
epoch's) of ``batch`` samples of ``steps`` steps each, K members side by side; the
configuration's own sizes — batches in the block, chunks per sample, steps per chunk, samples
per batch — are runtime values. Trials whose
number of batches, window or timesteps differ then share one program and its XLA code.

Padding never enters the math (``tests/test_buckets.py``):

- a sample is its whole sequence (stateful) or window (stateless), then zeros up to
  ``steps``; chunk k is steps ``k*T .. k*T + T - 1``, read by index, and the steps loop stops
  at T (a tensor bound), so a padded step is never read;
- the updates loop stops at the block's real number of batches: padded batches are never read;
- padded samples (a batch size rounded up to its bucket) run beside the real ones, and the
  loss counts only the real ones (their mean), so their gradient is exactly zero.

An epoch is one call per block, the loss total carried from call to call: the same sums in the
same order as one call over the whole epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmbench.feeding import BINARY, Batches, EvalSet, Head

# Batches per call. Every batch starts from zero state, so an epoch splits into calls at batch
# boundaries without changing anything; 32 keeps the padding of short epochs small (a padded
# batch is copied, never computed) and the longest default epochs (90-163 batches) at 3-6 calls.
BLOCK = 32
# Samples per batch are rounded up to one of these (beyond: to a multiple of the last): a padded
# sample costs arithmetic, a bucket more costs a compile (~1.5 s) in every worker that meets it.
# Measured (K=4, 16 units, epoch ms): stateful T=1 B=1 in the B=2 program 29 (13 in its own),
# T=20 B=1 23 (14); B=5 or 10 in B=11 costs less than the compile of their own buckets saves.
BATCH_BUCKETS = (2, 11, 30, 90)
# Steps per chunk are rounded up to one of these: the step loop's bound is the real T, but its
# gradient reserves room for the bucket's steps at every update. A chunk of one step runs in the
# loop too (T=1 B=1: 19 instead of 7 us an update; a trial of 3 epochs pays 0.07 s, a program
# of its own ~1.5 s of compile per worker).
STEP_BUCKETS = (20,)
# Units are rounded up to one of these (beyond the last: exact): padded units have weights that
# stay exactly zero, so their state stays zero and they add exact zeros to every sum.
UNIT_BUCKETS = (16,)


def bucket(n: int, buckets: tuple[int, ...]) -> int:
    """The smallest bucket >= ``n``; beyond the last, ``n`` rounded up to a multiple of it."""
    for b in buckets:
        if n <= b:
            return b
    return -(-n // buckets[-1]) * buckets[-1]


@dataclass(frozen=True)
class ProgramShape:
    """What a compiled program is built for: everything else is a runtime value."""

    members: int  # K
    batch: int  # samples per batch (B rounded up to its bucket)
    steps: int  # steps of a sample (sequence or window), padded
    chunk_steps: int  # most steps per chunk: 1 is the written-out single step, no loop
    units: int  # hidden units of the program (the model's, or more: padded units stay zero)
    features: int = 1  # F, never padded
    head: Head = BINARY  # output layer and loss, never padded
    block: int = BLOCK  # batches per call: the epoch's own in an exact-shape program

    @classmethod
    def of(cls, units: int, batch_shape: tuple[int, ...], *, exact: bool = False,
           head: Head = BINARY) -> ProgramShape:
        """The bucketed shape serving ``units`` on ``batch_shape`` ``(n_batches, n_chunks, K, B,
        T, F)`` with ``head``; ``exact``: the configuration's own shape (no padding, as before
        buckets)."""
        _, n_chunks, K, B, T, F = batch_shape
        if exact:  # the whole epoch in one call: a call costs ~0.75 ms of CPU, 3 updates' worth
            return cls(K, B, n_chunks * T, T, units, F, head, block=batch_shape[0])
        chunk_steps = bucket(T, STEP_BUCKETS)
        steps = max(bucket(n_chunks * T, STEP_BUCKETS), chunk_steps)
        padded_units = units if units > UNIT_BUCKETS[-1] else bucket(units, UNIT_BUCKETS)
        return cls(K, bucket(B, BATCH_BUCKETS), steps, chunk_steps, padded_units, F, head)

    def __repr__(self) -> str:
        # XLA's persistent cache keys a program by names drawn from this text: a binary head
        # leaves it as it was before heads existed, so the entries cached then still load.
        sizes = (f"members={self.members}, batch={self.batch}, steps={self.steps}, "
                 f"chunk_steps={self.chunk_steps}, units={self.units}, features={self.features}")
        head = "" if self.head == BINARY else f", head={self.head!r}"
        block = "" if self.block == BLOCK else f", block={self.block}"
        return f"ProgramShape({sizes}{head}{block})"


@dataclass(frozen=True)
class Layout:
    """One configuration in a program: its blocks and its runtime sizes."""

    blocks: list[tuple[np.ndarray, np.ndarray, int]]  # (xs, ys, real batches) per call
    n_chunks: int
    timesteps: int
    batch: int  # real samples per batch
    n_updates: int  # optimizer steps of the epoch


def padded_weights(weights: list[np.ndarray], units: int) -> list[np.ndarray]:
    """One member's Keras weights (kernel, recurrent_kernel, bias, dense kernel, dense bias) for
    ``units`` >= their own: each gate's columns and the state's rows padded with zeros."""
    kernel, rec, bias, dense_kernel, dense_bias = weights
    U = rec.shape[0]
    if units == U:
        return list(weights)

    def gates(a: np.ndarray) -> np.ndarray:  # (..., 4U) -> (..., 4 units), gate g at g*units
        out = np.zeros((*a.shape[:-1], 4, units), a.dtype)
        out[..., :U] = a.reshape(*a.shape[:-1], 4, U)
        return out.reshape(*a.shape[:-1], 4 * units)

    rec_padded = np.zeros((units, 4 * units), rec.dtype)
    rec_padded[:U] = gates(rec)
    dense_padded = np.zeros((units, dense_kernel.shape[1]), dense_kernel.dtype)
    dense_padded[:U] = dense_kernel
    return [gates(kernel), rec_padded, gates(bias), dense_padded, dense_bias]


def _as_sequences(xs: np.ndarray) -> np.ndarray:
    """``(..., n_chunks, K, B, T, F)`` chunks -> ``(..., K, B, n_chunks * T, F)`` samples."""
    n_chunks, K, B, T, F = xs.shape[-5:]
    lead = xs.shape[:-5]
    moved = np.moveaxis(xs, -5, -3)  # (..., K, B, n_chunks, T, F)
    return moved.reshape(*lead, K, B, n_chunks * T, F)


def layout(batches: Batches, shape: ProgramShape) -> Layout:
    """``batches`` (population batches) padded into ``shape``'s blocks."""
    n_batches, n_chunks, K, B, T, F = batches.xs.shape
    block = shape.block
    n_padded = -(-n_batches // block) * block
    xs = np.zeros((n_padded, K, shape.batch, shape.steps, F), np.float32)
    xs[:n_batches, :, :B, : n_chunks * T] = _as_sequences(batches.xs)
    ys = np.zeros((n_padded, K, shape.batch), np.float32)
    ys[:n_batches, :, :B] = batches.ys
    blocks = [(xs[i:i + block], ys[i:i + block], min(block, n_batches - i))
              for i in range(0, n_batches, block)]
    return Layout(blocks, n_chunks, T, B, n_batches * n_chunks)


def eval_samples(n: int) -> int:
    """Validation samples rounded up to a power of two (at least 16): XLA compiles the predictor
    per number of samples, and stateless layouts have one per window size (10 sequences give
    10 x (21 - W) windows); a padded sample is predicted and dropped, never scored."""
    return max(16, 1 << (n - 1).bit_length())


def eval_sequences(evalset: EvalSet, shape: ProgramShape) -> np.ndarray:
    """The validation samples as ``(eval_samples(N), steps, F)`` sequences padded to
    ``shape.steps`` (the samples beyond N are zeros)."""
    n_chunks, N, T, F = evalset.xv.shape
    xv = np.zeros((eval_samples(N), shape.steps, F), np.float32)
    xv[:N, : n_chunks * T] = evalset.xv.transpose(1, 0, 2, 3).reshape(N, n_chunks * T, F)
    return xv
