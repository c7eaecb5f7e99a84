"""The reference engine: Keras 3 as a user writes it.

``keras.Input(shape=(T, F), batch_size=B)``, ``LSTM(stateful=True)`` for the stateful arm,
a ``Dense`` head with its Keras loss (``HEADS``), ``train_on_batch`` per chunk, and the stateful
layers reset at every sequence end (= before every batch) and before evaluation. Nothing in
Keras resets state by itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmbench.engines._tf import tensorflow
from lstmbench.engines._weights import initial_weights
from lstmbench.feeding import BINARY, Batches, EvalSet, Head

# Per head kind: the Dense layer's activation and the loss, as a user writes them.
HEADS = {"binary": ("sigmoid", "binary_crossentropy"),
         "softmax": ("softmax", "sparse_categorical_crossentropy"),
         "linear": (None, "mean_squared_error")}


def build_model(units: int, steps: int, batch_size: int, *, stateful: bool, features: int = 1,
                head: Head = BINARY, recurrent_activation: Any = "sigmoid") -> Any:
    """Return an ``Input (steps, features) -> LSTM -> Dense`` model of ``head`` with a static
    batch size."""
    tensorflow()
    import keras

    inputs = keras.Input(shape=(steps, features), batch_size=batch_size)
    hidden = keras.layers.LSTM(units, stateful=stateful,
                               recurrent_activation=recurrent_activation)(inputs)
    outputs = keras.layers.Dense(head.n_outputs, activation=HEADS[head.kind][0])(hidden)
    return keras.Model(inputs, outputs)


def reset_states(model: Any) -> None:
    """Reset every stateful RNN layer (preprocessing layers have ``reset_state`` too: skip them)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class KerasEngine:
    name = "keras"

    def __init__(self, *, units: int, learning_rate: float, seed: int, stateful: bool,
                 batch_shape: tuple[int, ...], eval_shape: tuple[int, ...],
                 jit_compile: bool | str = "auto", recurrent_activation: Any = "sigmoid",
                 head: Head = BINARY) -> None:
        tensorflow()
        import keras

        _, _, B, T, F = batch_shape
        n_eval = eval_shape[1]
        self._stateful = stateful
        self._head = head
        self.model = build_model(units, T, B, stateful=stateful, features=F, head=head,
                                 recurrent_activation=recurrent_activation)
        self.model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss=HEADS[head.kind][1],
            jit_compile=jit_compile,
        )
        # Validation has its own batch size; a second model with the same weights runs it.
        self.eval_model = build_model(units, T, n_eval, stateful=True, features=F, head=head,
                                      recurrent_activation=recurrent_activation)
        self._weights = initial_weights(units, F, seed, head.n_outputs)
        self._learning_rate = learning_rate
        self.model.set_weights(self._weights)
        self.n_params = int(self.model.count_params())
        self.jit = bool(getattr(self.model, "jit_compile", False))

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        reset_states(self.model)
        self.model.train_on_batch(batches.xs[0, 0], batches.ys[0])
        self.predict(evalset)
        self.restore()

    def restore(self) -> None:
        """Back to the state before any training: initial weights, fresh Adam, zero LSTM state."""
        self.model.set_weights(self._weights)
        for var in self.model.optimizer.variables:
            var.assign(np.zeros(var.shape, dtype=var.dtype))
        self.model.optimizer.learning_rate.assign(self._learning_rate)
        reset_states(self.model)

    def train_epoch(self, batches: Batches) -> float:
        losses = []
        for b in range(batches.xs.shape[0]):
            reset_states(self.model)  # a new batch of sequences starts from zero
            for k in range(batches.xs.shape[1]):
                loss = self.model.train_on_batch(batches.xs[b, k], batches.ys[b])
                losses.append(float(np.asarray(loss).reshape(-1)[0]))
        reset_states(self.model)
        return float(np.mean(losses))

    def predict(self, evalset: EvalSet) -> np.ndarray:
        self.eval_model.set_weights(self.model.get_weights())
        reset_states(self.eval_model)  # never start validation from training's state
        outputs = [np.asarray(self.eval_model.predict_on_batch(evalset.xv[k]))
                   for k in range(evalset.xv.shape[0])]
        reset_states(self.eval_model)
        out = np.stack(outputs)  # (n_chunks, N, outputs)
        return out if self._head.kind == "softmax" else out[..., 0]
