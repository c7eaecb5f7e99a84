"""The reference engine: Keras 3 as a user writes it.

``keras.Input(shape=(T, 1), batch_size=B)``, ``LSTM(stateful=True)`` for the stateful arm,
``train_on_batch`` per chunk, and the stateful layers reset at every sequence end (= before
every batch) and before evaluation. Nothing in Keras resets state by itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmbench.engines._tf import tensorflow
from lstmbench.engines._weights import initial_weights
from lstmbench.feeding import Batches, EvalSet


def build_model(units: int, steps: int, batch_size: int, *, stateful: bool,
                recurrent_activation: Any = "sigmoid") -> Any:
    """Return an ``Input -> LSTM -> Dense(sigmoid)`` model with a static batch size."""
    tensorflow()
    import keras

    inputs = keras.Input(shape=(steps, 1), batch_size=batch_size)
    hidden = keras.layers.LSTM(units, stateful=stateful,
                               recurrent_activation=recurrent_activation)(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
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
                 jit_compile: bool | str = "auto", recurrent_activation: Any = "sigmoid") -> None:
        tensorflow()
        import keras

        _, _, B, T, _ = batch_shape
        n_eval = eval_shape[1]
        self._stateful = stateful
        self.model = build_model(units, T, B, stateful=stateful,
                                 recurrent_activation=recurrent_activation)
        self.model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
            jit_compile=jit_compile,
        )
        # Validation has its own batch size; a second model with the same weights runs it.
        self.eval_model = build_model(units, T, n_eval, stateful=True,
                                      recurrent_activation=recurrent_activation)
        self._weights = initial_weights(units, 1, seed)
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
        probs = [
            np.asarray(self.eval_model.predict_on_batch(evalset.xv[k]))[:, 0]
            for k in range(evalset.xv.shape[0])
        ]
        reset_states(self.eval_model)
        return np.stack(probs)
