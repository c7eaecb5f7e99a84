"""The compiled programs' TensorFlow: the LSTM cell on packed member weights, one block of
training updates, and the validation predictions (see the package docstring)."""

from __future__ import annotations

from typing import Any

from lstmbench.engines._compiled._shapes import ProgramShape
from lstmbench.feeding import Head

# A single-step chunk (exact-shape programs only: shared ones always loop) of at most this many
# sequences is one product [x, h, 1] @ lstm; larger batches add x * kernel + bias and
# h @ recurrent_kernel. Measured at T=1, 8 units (epoch ms, XLA): B=1 4.5 vs 5.2, B=2 4.2 vs
# 3.0, B=5 3.0 vs 1.9, B=10 2.9 vs 1.6-2.4.
ONE_PRODUCT_MAX_BATCH = 1
# Beyond this many units the single step's products are matmuls again (the fused product's
# intermediate grows with units squared).
FUSED_MAX_UNITS = 16


def model_functions(tf: Any, shape: ProgramShape) -> tuple[Any, Any]:
    """Return ``run_chunk(lstm, x, start, steps, h, c, one_product)`` and ``logits_of(head, h)``.

    ``lstm`` and ``head`` are the packed weights (variables or tensors); ``x (K, N, S, F)``
    holds whole samples; a chunk is steps ``start .. start + steps - 1``. Products are batched
    over members: ``tf.matmul`` in a steps loop, where it beats multiply-and-sum at every batch
    size (K=4, 16 units, an update of W=10 B=30: 2.7 -> 1.2 ms; T=20 B=1: 200 -> 158 us); in
    the written-out single step of an exact-shape program, multiply-and-sum, which XLA fuses
    with the gate math (T=1, K=4: B=1 7.1 vs 8.6 us an update, B=10 37 vs 47 us).
    """
    U, F = shape.units, shape.features

    def fused_product(a, w):  # a (K, N, I) @ w (K, I, M), up to 16 units as multiply-and-sum
        if U > FUSED_MAX_UNITS:
            return tf.matmul(a, w)
        return tf.reduce_sum(a[:, :, :, None] * w[:, None], axis=2)

    def cell(z, c):
        """``LSTMCell.call`` from the pre-activations ``z (K, N, 4U)``: the new ``(h, c)``."""
        # The gates on their own axis (K, N, 4, U): a gate is then a slice of a non-minor
        # axis, whose gradient XLA writes as vector code; split on the minor axis was scalar
        # code (K=16, B=1: 20 -> 15 ms an epoch; K=1 the same). All four activations in one
        # elementwise op, then unstacked: the gradient is one concatenation where four slices
        # each had their own kernel (32 -> 29 kernels an update at B=1).
        z = tf.reshape(z, (shape.members, -1, 4, U))
        is_c_gate = tf.constant([[False], [False], [True], [False]])
        i, f, g, o = tf.unstack(tf.where(is_c_gate, tf.tanh(z), tf.sigmoid(z)), axis=2)
        c = f * c + i * g
        return o * tf.tanh(c), c

    def input_part(x_t, kernel, bias):  # x_t (K, N, F) @ kernel + bias: (K, N, 4U)
        xz = x_t * kernel[:, None, 0] if F == 1 else tf.einsum("kni,kij->knj", x_t, kernel)
        return xz + bias[:, None]

    def run_chunk(lstm, x, start, steps, h, c, one_product):
        """The cell over steps ``start .. start + steps - 1`` of ``x`` from ``(h, c)``."""
        if shape.chunk_steps == 1:  # one step, written out: no loop
            x_t = tf.gather(x, start, axis=2)
            if one_product:  # the whole step as one product [x_t, h, 1] @ lstm
                return cell(fused_product(tf.concat([x_t, h, tf.ones_like(h[:, :, :1])], -1),
                                          lstm), c)
            return cell(input_part(x_t, lstm[:, :F], lstm[:, F + U])
                        + fused_product(h, lstm[:, F:F + U]), c)
        # The weights read once, outside the loop.
        kernel, rec, bias = lstm[:, :F], lstm[:, F:F + U], lstm[:, F + U]

        def step(t, h, c):
            h, c = cell(input_part(tf.gather(x, start + t, axis=2), kernel, bias)
                        + tf.matmul(h, rec), c)
            return t + 1, h, c

        # The bound is the real number of steps (a tensor); the gradient's stacks are sized
        # for the bucket's.
        _, h, c = tf.while_loop(lambda t, h, c: t < steps, step, (tf.constant(0), h, c),
                                maximum_iterations=shape.chunk_steps)
        return h, c

    def logits_of(head, h):  # the Dense head on the last output: (K, N), or (K, N, C)
        # [h, 1] @ head, kernel and bias in one product: one kernel for their gradient, not
        # two (29 -> 27 an update at B=1)
        h1 = tf.concat([h, tf.ones_like(h[:, :, :1])], -1)
        if shape.head.n_outputs == 1:
            return tf.reduce_sum(h1 * head[:, None, :, 0], axis=-1)
        return tf.matmul(h1, head)

    return run_chunk, logits_of


def head_functions(tf: Any, head: Head) -> tuple[Any, Any]:
    """Return ``loss_of(y, logits)`` (each sample's loss) and ``output_of(logits)`` (what
    ``predict`` returns) for ``head``: binary cross-entropy and sigmoid probabilities;
    cross-entropy on class ids and softmax probabilities; squared error and the values."""
    if head.kind == "binary":
        return (lambda y, logits: tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits),
                tf.sigmoid)
    if head.kind == "softmax":
        return (lambda y, logits: tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=tf.cast(y, tf.int32), logits=logits),
                tf.nn.softmax)
    return (lambda y, values: tf.square(y - values)), (lambda values: values)


def train_function(tf: Any, optimizer: Any, lstm: Any, head: Any, *, shape: ProgramShape,
                   jit: bool) -> Any:
    """Return ``train_block(xs, ys, n_batches, n_chunks, steps, n_samples, total)``: the
    updates of one block of batches on the variables ``lstm`` and ``head``; returns ``total``
    plus each member's losses ``(K,)``."""
    K, B, U = shape.members, shape.batch, shape.units
    run_chunk, logits_of = model_functions(tf, shape)
    loss_of, _ = head_functions(tf, shape.head)
    variables = [lstm, head]
    zeros = tf.zeros((K, B, U))
    one_product = B <= ONE_PRODUCT_MAX_BATCH

    @tf.function(jit_compile=jit, autograph=False)
    def train_block(xs, ys, n_batches, n_chunks, steps, n_samples, total):
        # Only the real samples count: a padded one's loss is replaced by 0 (a where, not a
        # product: 0 * inf would be NaN), so its gradient is exactly zero. Sum, then divide,
        # as reduce_mean does: an overflow overflows as it always did.
        real = tf.broadcast_to(tf.range(B) < n_samples, (K, B))
        count = tf.cast(n_samples, tf.float32)

        def update(i, h, c, total):
            b, k = i // n_chunks, i % n_chunks
            # A new batch of sequences starts from zero state.
            h = tf.where(k == 0, zeros, h)
            c = tf.where(k == 0, zeros, c)
            # gather, not xs[b]: XLA takes a slice's start as a constant, compiled per value
            x, y = tf.gather(xs, b), tf.gather(ys, b)
            with tf.GradientTape() as tape:
                h, c = run_chunk(lstm, x, k * steps, steps, h, c, one_product)
                each = loss_of(y, logits_of(head, h))
                losses = tf.reduce_sum(tf.where(real, each, 0.0), axis=1) / count
                # The sum: each member's slice gets its own loss's gradient, nothing else.
                loss = tf.reduce_sum(losses)
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables))
            # Truncated BPTT: the next chunk starts from the state as a constant.
            return i + 1, tf.stop_gradient(h), tf.stop_gradient(c), total + losses

        _, _, _, total = tf.while_loop(
            lambda i, h, c, total: i < n_batches * n_chunks, update,
            (tf.constant(0), zeros, zeros, total),
            maximum_iterations=shape.block * shape.steps,
        )
        return total

    return train_block


def predict_function(tf: Any, shape: ProgramShape, *, jit: bool) -> Any:
    """Return ``predict(lstm, head, xv, n_chunks, steps)``: the head's outputs ``(S, K, N)``
    (``(S, K, N, C)`` for a softmax) on the validation samples ``xv (N, S, F)`` for the packed
    weights ``lstm`` and ``head`` (tensors, not variables: one function serves every program
    of these members, steps, units, features and head); row k is chunk k's, rows from
    ``n_chunks`` on are zeros."""
    K, S, F, U = shape.members, shape.steps, shape.features, shape.units
    C = shape.head.n_outputs
    run_chunk, logits_of = model_functions(tf, shape)
    _, output_of = head_functions(tf, shape.head)
    per_sample = () if C == 1 else (C,)

    @tf.function(jit_compile=jit, autograph=False, input_signature=[
        tf.TensorSpec((K, F + U + 1, 4 * U), tf.float32), tf.TensorSpec((K, U + 1, C), tf.float32),
        tf.TensorSpec((None, S, F), tf.float32), tf.TensorSpec((), tf.int32),
        tf.TensorSpec((), tf.int32)])
    def predict(lstm, head, xv, n_chunks, steps):
        N = tf.shape(xv)[0]
        x = tf.broadcast_to(xv[None], tf.stack([K, N, S, F]))  # every member, same samples
        zeros = tf.zeros(tf.stack([K, N, U]))

        def chunk(k, h, c, out):
            h, c = run_chunk(lstm, x, k * steps, steps, h, c, False)
            return k + 1, h, c, tf.tensor_scatter_nd_update(
                out, [[k]], output_of(logits_of(head, h))[None])

        _, _, _, out = tf.while_loop(lambda k, h, c, out: k < n_chunks, chunk,
                                     (tf.constant(0), zeros, zeros,
                                      tf.zeros(tf.stack([S, K, N, *per_sample]))),
                                     maximum_iterations=S)
        return out

    return predict
