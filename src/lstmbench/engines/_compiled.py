"""The default engine: a whole epoch in one ``tf.function`` (XLA on), Keras layers inside.

The LSTM state is a pair of tensors passed from chunk to chunk by hand, set to zero at the
start of every batch; each chunk is one optimizer step whose gradient tape sees only that
chunk, so gradients stop at chunk boundaries exactly as with Keras' ``stateful=True``.

Traced programs are cached per shape: trials of the same shapes reuse the compiled function
and only reassign weights and optimizer slots, so a sweep pays for XLA once per shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmbench.engines._tf import tensorflow
from lstmbench.engines._weights import count_params, initial_weights
from lstmbench.feeding import Batches, EvalSet

UNROLL_MAX = 16  # unroll the steps of a chunk up to this many; a graph loop beyond


class _Program:
    """Variables, optimizer and compiled functions for one set of shapes."""

    def __init__(self, units: int, batch_shape: tuple[int, ...], eval_shape: tuple[int, ...],
                 jit: bool) -> None:
        tf = tensorflow()
        import keras

        _, _, B, _, F = batch_shape
        self.cell = keras.layers.LSTMCell(units)
        self.dense = keras.layers.Dense(1)
        self.cell.build((None, F))
        self.dense.build((None, units))
        self.variables = [*self.cell.trainable_variables, *self.dense.trainable_variables]
        self.optimizer = keras.optimizers.Adam(1e-3)
        self.optimizer.build(self.variables)
        cell, dense, optimizer, variables = self.cell, self.dense, self.optimizer, self.variables

        def run_chunk(x, h, c):  # x (B, T, F)
            steps = x.shape[1]
            if steps <= UNROLL_MAX:
                for t in range(steps):
                    out, (h, c) = cell(x[:, t], [h, c])
                return out, h, c
            out = h
            for t in tf.range(steps):
                out, (h, c) = cell(x[:, t], [h, c])
            return out, h, c

        @tf.function(jit_compile=jit)
        def train_epoch(xs, ys):
            n_batches, n_chunks = xs.shape[0], xs.shape[1]
            total = tf.constant(0.0)
            for b in tf.range(n_batches):
                h = tf.zeros((B, units))
                c = tf.zeros((B, units))
                y = tf.expand_dims(ys[b], 1)
                for k in tf.range(n_chunks):
                    with tf.GradientTape() as tape:
                        out, h_next, c_next = run_chunk(xs[b, k], h, c)
                        logits = dense(out)
                        loss = tf.reduce_mean(
                            tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
                        )
                    grads = tape.gradient(loss, variables)
                    optimizer.apply_gradients(zip(grads, variables))
                    # Truncated BPTT: the next chunk starts from the state as a constant.
                    h, c = tf.stop_gradient(h_next), tf.stop_gradient(c_next)
                    total += loss
            return total / float(n_batches * n_chunks)

        n_chunks_eval, N = eval_shape[0], eval_shape[1]

        # Evaluation runs once per epoch: XLA would cost more to compile than it saves.
        @tf.function(jit_compile=False)
        def predict(xv):
            h = tf.zeros((N, units))
            c = tf.zeros((N, units))
            probs = tf.TensorArray(tf.float32, size=n_chunks_eval)
            for k in tf.range(n_chunks_eval):
                out, h, c = run_chunk(xv[k], h, c)
                probs = probs.write(k, tf.sigmoid(dense(out))[:, 0])
            return probs.stack()

        self.train_epoch = train_epoch
        self.predict = predict
        self.compiled = False

    def reset(self, weights: list[np.ndarray], learning_rate: float) -> None:
        """Start a new trial on this program: fresh weights, empty Adam slots."""
        for var, value in zip(self.variables, weights):
            var.assign(value)
        for var in self.optimizer.variables:
            var.assign(np.zeros(var.shape, dtype=var.dtype))
        self.optimizer.learning_rate.assign(learning_rate)


_programs: dict[tuple[Any, ...], _Program] = {}


class CompiledEngine:
    name = "compiled"

    def __init__(self, *, units: int, learning_rate: float, seed: int,
                 batch_shape: tuple[int, ...], eval_shape: tuple[int, ...],
                 jit: bool = True) -> None:
        self.jit = jit
        self.n_params = count_params(units, batch_shape[-1])
        self._weights = initial_weights(units, batch_shape[-1], seed)
        self._learning_rate = learning_rate
        key = (units, tuple(batch_shape), tuple(eval_shape), jit)
        if key not in _programs:
            _programs[key] = _Program(units, batch_shape, eval_shape, jit)
        self._program = _programs[key]
        self.reused = self._program.compiled  # a previous trial already compiled these shapes
        self._program.reset(self._weights, learning_rate)

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        if not self._program.compiled:
            self._program.train_epoch(batches.xs, batches.ys)
            self._program.predict(evalset.xv)
            self._program.compiled = True
        self._program.reset(self._weights, self._learning_rate)

    def train_epoch(self, batches: Batches) -> float:
        return float(self._program.train_epoch(batches.xs, batches.ys))

    def predict(self, evalset: EvalSet) -> np.ndarray:
        return self._program.predict(evalset.xv).numpy()
