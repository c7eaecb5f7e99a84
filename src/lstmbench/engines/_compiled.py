"""The default engine: a whole epoch in one ``tf.function`` (XLA on), Keras variables inside.

The model is Keras' ``LSTMCell`` and ``Dense(1)``: the same weights (``kernel``,
``recurrent_kernel``, ``bias`` in gate order i, f, c, o; then the Dense kernel and bias) and
the same math as ``LSTMCell.call``, written out, trained by a Keras ``Adam``. The weights are
packed into two Keras variables — ``lstm = [kernel; recurrent_kernel; bias]`` of shape
``(F + U + 1, 4U)`` and ``head = [dense_kernel; dense_bias]`` of shape ``(U + 1, 1)`` — so that
Adam updates two variables instead of five, and at batch size 1 one product ``[x, h, 1] @ lstm``
gives a step's gates. Adam is elementwise: Adam on the packed variables is Adam on the five
weights. At these sizes every XLA kernel costs about as much to launch as to run, so fewer
kernels per update is the whole game (B=1 epoch 6.5 → 4.5 ms, compile 1.1 → 0.8 s);
``tests/test_engines.py`` checks the result against the Keras reference.

**Population.** The program trains K members of one configuration at once: both packed
variables carry a leading member axis, ``(K, F + U + 1, 4U)`` and ``(K, U + 1, 1)``, and the
batches one too (``feeding.population_batches``: each member its own order). Every product is
batched over members, so an update launches the same kernels for any K. The loss the tape sees
is the *sum* of the members' mean losses: its gradient with respect to member i's slice is
member i's own gradient, and Adam, elementwise, then steps each slice as a one-member run
would (``tests/test_population.py``). A single model is the population of one (measured no
slower than the former one-model program: B=1 3.8 vs 4.1 ms, B=10 1.4 vs 1.6 ms CPU an epoch).
At B=1 an update is ~30 small kernels whatever K, so K members cost far less than K runs
(``bench/engines.py --population-only``: K=16 ~3.5x the epoch of K=1). What grows with K is
elementwise work on K x 329 parameters, mostly Adam's sqrt and divide, which share the
divider unit (~1.5 cycles a parameter an update; without them K=16 would be ~2.7x K=1).

The epoch is one flat ``while`` loop over updates (chunk k of batch b). The LSTM state is a
pair of tensors carried from update to update, set to zero where a batch starts (k = 0); each
update is one optimizer step whose gradient tape sees only its chunk, so gradients stop at
chunk boundaries exactly as with Keras' ``stateful=True``. The steps inside a chunk run in a
``while`` loop too (written out only when there is a single step): compiling an unrolled
window costs seconds, and the loop runs as fast.

Traced programs are cached per shape: trials of the same shapes reuse the compiled function
and only reassign weights and optimizer slots, so a sweep pays for XLA once per shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmbench.engines._tf import cache_entries, tensorflow
from lstmbench.engines._weights import count_params, initial_weights
from lstmbench.feeding import Batches, EvalSet

UNROLL_MAX = 1  # steps of a chunk written out inline up to this many; a while loop beyond
# Up to this many units the recurrent product h @ R is written as multiply-and-sum, which XLA
# fuses with the gate math (one kernel instead of a dot call per step); beyond it, a matmul.
FUSED_MATMUL_MAX_UNITS = 16
# A single-step chunk of at most this many sequences is one product [x, h, 1] @ lstm; larger
# batches precompute x @ kernel + bias and add h @ recurrent_kernel. Measured at T=1, 8 units
# (epoch ms, XLA): B=1 4.5 vs 5.2, B=2 4.2 vs 3.0, B=5 3.0 vs 1.9, B=10 2.9 vs 1.6-2.4.
ONE_PRODUCT_MAX_BATCH = 1


class _Program:
    """Variables, optimizer and compiled functions for one set of shapes.

    ``batch_shape`` is ``(n_batches, n_chunks, K, B, T, F)``: K members, each with its batches.
    """

    def __init__(self, units: int, batch_shape: tuple[int, ...], eval_shape: tuple[int, ...],
                 jit: bool) -> None:
        tf = tensorflow()
        import keras

        n_batches, n_chunks, K, B, _, F = batch_shape
        U = units
        self.members = K
        self.lstm = keras.Variable(np.zeros((K, F + U + 1, 4 * U), np.float32), name="lstm")
        self.head = keras.Variable(np.zeros((K, U + 1, 1), np.float32), name="head")
        self.variables = [self.lstm, self.head]
        self.optimizer = keras.optimizers.Adam(1e-3)
        self.optimizer.build(self.variables)
        run_chunk, logits_of = _model_functions(tf, self.lstm, self.head, units, F)
        self.train_epoch = _train_function(
            tf, run_chunk, logits_of, self.optimizer, self.variables,
            n_updates=n_batches * n_chunks, n_chunks=n_chunks, state_shape=(K, B, U), jit=jit,
        )
        self.predict = _predict_function(tf, run_chunk, logits_of, eval_shape, (K, U))
        self.compiled = False

    def reset(self, weights: Sequence[list[np.ndarray]], learning_rate: float) -> None:
        """Start a new trial on this program: fresh weights, empty Adam slots.

        ``weights`` per member, in Keras' order: kernel, recurrent_kernel, bias, dense kernel,
        dense bias.
        """
        self.lstm.assign(np.stack([np.concatenate([k, r, b[None]]) for k, r, b, _, _ in weights]))
        self.head.assign(np.stack([np.concatenate([dk, db[None]]) for _, _, _, dk, db in weights]))
        for var in self.optimizer.variables:
            var.assign(np.zeros(var.shape, dtype=var.dtype))
        self.optimizer.learning_rate.assign(learning_rate)


def _model_functions(tf: Any, lstm: Any, head: Any, units: int, F: int) -> tuple[Any, Any]:
    """Return ``run_chunk(x, h, c)`` and ``logits_of(h)`` on the packed member variables."""
    U = units
    fused = units <= FUSED_MATMUL_MAX_UNITS

    def product(a, w):  # a (K, N, I) @ w (K, I, M): (K, N, M), one product per member
        if fused:  # multiply-and-sum: XLA fuses it with the gate math, no dot call
            return tf.reduce_sum(a[:, :, :, None] * w[:, None], axis=2)
        return tf.matmul(a, w)

    def cell(z, c):
        """``LSTMCell.call`` from the pre-activations ``z (K, N, 4U)``: the new ``(h, c)``."""
        # The gates on their own axis (K, N, 4, U) and one sigmoid over all four (the c gate's
        # is unused): a gate is then a slice of a non-minor axis, whose gradient XLA writes
        # as vector code; split on the minor axis was scalar code (K=16, B=1: 20 -> 15 ms
        # an epoch; K=1 the same).
        z = tf.reshape(z, (*z.shape[:-1], 4, U))
        gates = tf.sigmoid(z)
        c = gates[..., 1, :] * c + gates[..., 0, :] * tf.tanh(z[..., 2, :])
        return gates[..., 3, :] * tf.tanh(c), c

    def run_chunk(x, h, c):
        """The cell over the steps of ``x (K, N, T, F)`` from ``(h, c)``: the last ``(h, c)``."""
        steps = x.shape[2]
        if steps <= UNROLL_MAX and x.shape[1] <= ONE_PRODUCT_MAX_BATCH:
            # The whole step as one product [x_t, h, 1] @ lstm.
            ones = tf.ones_like(h[:, :, :1])
            for t in range(steps):
                h, c = cell(product(tf.concat([x[:, :, t], h, ones], axis=-1), lstm), c)
            return h, c
        kernel, rec, bias = lstm[:, :F], lstm[:, F:F + U], lstm[:, F + U]
        # The input part of every step at once: (K, N, T, 4U).
        xz = x * kernel[:, None, None, 0] if F == 1 else tf.einsum("knti,kij->kntj", x, kernel)
        xz = xz + bias[:, None, None]

        def step(t, h, c):
            h, c = cell(xz[:, :, t] + product(h, rec), c)
            return t + 1, h, c

        if steps <= UNROLL_MAX:
            for t in range(steps):
                _, h, c = step(t, h, c)
            return h, c
        _, h, c = tf.while_loop(lambda t, h, c: t < steps, step, (tf.constant(0), h, c),
                                maximum_iterations=steps)
        return h, c

    def logits_of(h):  # Dense(1) on the last output: (K, N)
        return tf.reduce_sum(h * head[:, None, :U, 0], axis=-1) + head[:, None, U, 0]

    return run_chunk, logits_of


def _train_function(tf: Any, run_chunk: Any, logits_of: Any, optimizer: Any, variables: list,
                    *, n_updates: int, n_chunks: int, state_shape: tuple[int, int, int],
                    jit: bool) -> Any:
    """Return ``train_epoch(xs, ys)``: one epoch, the mean loss of each member ``(K,)``."""
    zeros = tf.zeros(state_shape)

    @tf.function(jit_compile=jit, autograph=False)
    def train_epoch(xs, ys):
        def update(i, h, c, total):
            b, k = i // n_chunks, i % n_chunks
            # A new batch of sequences starts from zero state.
            h = tf.where(k == 0, zeros, h)
            c = tf.where(k == 0, zeros, c)
            with tf.GradientTape() as tape:
                h, c = run_chunk(xs[b, k], h, c)
                losses = tf.reduce_mean(
                    tf.nn.sigmoid_cross_entropy_with_logits(labels=ys[b], logits=logits_of(h)),
                    axis=1,
                )
                # The sum: each member's slice gets its own loss's gradient, nothing else.
                loss = tf.reduce_sum(losses)
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables))
            # Truncated BPTT: the next chunk starts from the state as a constant.
            return i + 1, tf.stop_gradient(h), tf.stop_gradient(c), total + losses

        _, _, _, total = tf.while_loop(
            lambda i, h, c, total: i < n_updates, update,
            (tf.constant(0), zeros, zeros, tf.zeros(state_shape[:1])),
            maximum_iterations=n_updates,
        )
        return total / float(n_updates)

    return train_epoch


def _predict_function(tf: Any, run_chunk: Any, logits_of: Any, eval_shape: tuple[int, ...],
                      member_units: tuple[int, int]) -> Any:
    """Return ``predict(xv)``: probabilities ``(n_chunks, K, N)`` on the shared validation set."""
    n_chunks_eval, N = eval_shape[0], eval_shape[1]
    K, U = member_units

    # Evaluation runs once per epoch: XLA would cost more to compile than it saves.
    @tf.function(jit_compile=False, autograph=False)
    def predict(xv):
        def chunk(k, h, c, probs):
            x = tf.broadcast_to(xv[k][None], (K, *xv.shape[1:]))  # every member, same samples
            h, c = run_chunk(x, h, c)
            return k + 1, h, c, probs.write(k, tf.sigmoid(logits_of(h)))

        zeros_eval = tf.zeros((K, N, U))
        probs = tf.TensorArray(tf.float32, size=n_chunks_eval)
        _, _, _, probs = tf.while_loop(
            lambda k, h, c, probs: k < n_chunks_eval, chunk,
            (tf.constant(0), zeros_eval, zeros_eval, probs),
        )
        return probs.stack()

    return predict


_programs: dict[tuple[Any, ...], _Program] = {}


class CompiledPopulation:
    """K members of one configuration in one compiled program (see the module docstring).

    ``batch_shape`` is ``(n_batches, n_chunks, K, B, T, F)``; ``seeds`` gives each member's
    initial weights. Trains on ``feeding.population_batches``; losses ``(K,)``, probabilities
    ``(K, n_chunks, N)``.
    """

    name = "compiled"

    def __init__(self, *, units: int, learning_rate: float, seeds: Sequence[int],
                 batch_shape: tuple[int, ...], eval_shape: tuple[int, ...],
                 jit: bool = True) -> None:
        if batch_shape[2] != len(seeds):
            raise ValueError(f"batches for {batch_shape[2]} members, seeds for {len(seeds)}")
        self.jit = jit
        self.members = len(seeds)
        self.n_params = count_params(units, batch_shape[-1])  # per member
        self._weights = [initial_weights(units, batch_shape[-1], s) for s in seeds]
        self._learning_rate = learning_rate
        key = (units, tuple(batch_shape), tuple(eval_shape), jit)
        if key not in _programs:
            _programs[key] = _Program(units, batch_shape, eval_shape, jit)
        self._program = _programs[key]
        self.reused = self._program.compiled  # a previous trial already compiled these shapes
        # What XLA's persistent cache did for this trial: "hit" (loaded), "miss" (compiled and
        # stored), "off" (no cache); None when XLA compiled nothing (reused, or XLA off).
        self.xla_cache: str | None = None
        self._program.reset(self._weights, learning_rate)

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        if not self._program.compiled:
            before = cache_entries() if self.jit else None
            self._program.train_epoch(batches.xs, batches.ys)
            self._program.predict(evalset.xv)
            self._program.compiled = True
            if self.jit:
                # A miss writes an entry (another worker writing one meanwhile reads as a miss).
                after = cache_entries()
                self.xla_cache = ("off" if before is None or after is None
                                  else "miss" if after - before else "hit")
        self._program.reset(self._weights, self._learning_rate)

    def train_epoch(self, batches: Batches) -> np.ndarray:
        return self._program.train_epoch(batches.xs, batches.ys).numpy()

    def predict(self, evalset: EvalSet) -> np.ndarray:
        return np.ascontiguousarray(self._program.predict(evalset.xv).numpy().transpose(1, 0, 2))


class CompiledEngine:
    """One model: the population of one, with the single-model ``Engine`` interface."""

    name = "compiled"

    def __init__(self, *, units: int, learning_rate: float, seed: int,
                 batch_shape: tuple[int, ...], eval_shape: tuple[int, ...],
                 jit: bool = True) -> None:
        n_batches, n_chunks, *sample = batch_shape
        self._population = CompiledPopulation(
            units=units, learning_rate=learning_rate, seeds=[seed],
            batch_shape=(n_batches, n_chunks, 1, *sample), eval_shape=eval_shape, jit=jit,
        )
        self.jit, self.n_params = jit, self._population.n_params
        self.reused = self._population.reused

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        self._population.warm_up(batches.with_member_axis(), evalset)

    def train_epoch(self, batches: Batches) -> float:
        return float(self._population.train_epoch(batches.with_member_axis())[0])

    def predict(self, evalset: EvalSet) -> np.ndarray:
        return self._population.predict(evalset)[0]
