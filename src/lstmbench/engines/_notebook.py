"""The seed notebook's five "writings", run as it wrote them (Keras 3 spelling).

Each form is an engine, chosen by the trial spec like any other (``train.engine =
"notebook:writing-1:as-written"``): it trains with the notebook's own loop, while the trial
runner times it and scores it on the validation split exactly like every other trial (one
prediction per chunk or window, state from zero). So an as-written form and its canonical
lstmbench configuration are measured the same way and can be compared:

- the same data: lstmbench's task and split (the notebook drew new data per cell; its stateless
  cell used 200 sequences and split *windows*, so one sequence's windows sat on both sides);
- the same seeded initial weights;
- the same clock: ``warm_up`` runs the form's own loop on the first batch (which traces and
  compiles ``train_on_batch``/``fit``), then restores weights, Adam and state, so the first
  timed epoch holds no compile time, as with every other engine.

One deliberate difference from the canonical engines: the LSTM's recurrent activation is the
notebook's. It ran Keras 2.0-2.2 (``Using TensorFlow backend``, ``batch_input_shape``, ``acc`` in
its logs), whose LSTM default was ``hard_sigmoid`` = ``clip(0.2 x + 0.5, 0, 1)``; Keras 3's
default is ``sigmoid``, and Keras 3's own ``hard_sigmoid`` is another function
(``relu6(x + 3) / 6`` = ``clip(x / 6 + 0.5, 0, 1)``), so the Keras 2 one is written out here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmbench.engines import KerasEngine, reset_states
from lstmbench.feeding import Batches, EvalSet
from lstmbench.spec import TrialSpec


class NotebookError(RuntimeError):
    """The notebook's code, as written, cannot run (the message says why)."""


def keras2_hard_sigmoid(x: Any) -> Any:
    """Keras 2.0-2.2's ``hard_sigmoid``, the notebook's LSTM recurrent activation."""
    import keras

    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


RECURRENT_ACTIVATION: Any = keras2_hard_sigmoid  # the notebook's; "sigmoid" is Keras 3's default


def _flat(batches: Batches) -> tuple[np.ndarray, np.ndarray]:
    """Samples in feeding order as the notebook's flat arrays: X (n, T, 1), one label per chunk."""
    n_batches, n_chunks, B, T, F = batches.xs.shape
    x = batches.xs.transpose(0, 2, 1, 3, 4).reshape(n_batches * B * n_chunks, T, F)
    y = np.repeat(batches.ys.reshape(-1), n_chunks)
    return x, y


def _y_train_new(y_train: np.ndarray, n_rows: int, seq_len: int) -> np.ndarray:
    """The labels of 写法3 and 写法4 (In [113]-[114]): only rows 0..19 are ever written."""
    y_train_new = np.zeros((n_rows,))
    for i in range(y_train.shape[0]):
        for j in range(seq_len):
            y_train_new[j] = y_train[i]  # the notebook's bug: [j], not [i * 20 + j]
    return y_train_new


class _NotebookEngine(KerasEngine):
    """The Keras reference engine with the notebook's training loop in ``train_epoch``."""

    model_batch: int | None = None  # the LSTM's batch size; None: the feeding batch
    label_bug = False  # train on 写法3's y_train_new (rows 0..19 only) instead of the labels

    def __init__(self, spec: TrialSpec, batches: Batches, evalset: EvalSet, *,
                 stateful: bool) -> None:
        _, n_chunks, B, T, _ = batches.xs.shape
        xla = spec.train.xla
        super().__init__(units=spec.model.units, learning_rate=spec.train.learning_rate,
                         seed=spec.seed, stateful=stateful,
                         batch_shape=(1, n_chunks, self.model_batch or B, T, 1),
                         eval_shape=evalset.xv.shape,
                         jit_compile="auto" if xla == "auto" else xla == "on",
                         recurrent_activation=RECURRENT_ACTIVATION)
        self.name = f"keras/{type(self).__name__}"
        self.seq_len = spec.task.seq_len

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        # The form's own loop on its first batch traces what the epochs will call (fit's and
        # train_on_batch's functions differ); then back to the untrained start.
        self.train_epoch(Batches(batches.xs[:1], batches.ys[:1]))
        self.predict(evalset)
        self.restore()

    def _samples(self, batches: Batches) -> tuple[np.ndarray, np.ndarray]:
        """The notebook's flat samples and their labels (y_train_new for a label-bug form)."""
        x, y = _flat(batches)
        if self.label_bug:
            y = _y_train_new(y[:: self.seq_len], x.shape[0], self.seq_len)
        return x, y

    def _fit(self, x: np.ndarray, y: np.ndarray, batch_size: int, callback: Any) -> float:
        history = self.model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False,
                                 callbacks=[callback])
        reset_states(self.model)
        return float(history.history["loss"][-1])


def _status_reset_every(n: int) -> Any:
    import keras

    class StatusResetCallback(keras.callbacks.Callback):  # the notebook's, Keras 3 spelling
        def __init__(self) -> None:
            super().__init__()
            self.counter = 0

        def on_batch_begin(self, batch: int, logs: Any = None) -> None:
            if self.counter % n == 0:
                reset_states(self.model)
            self.counter += 1

    return StatusResetCallback()


def _first(loss: Any) -> float:
    return float(np.asarray(loss).reshape(-1)[0])


class Writing1(_NotebookEngine):
    """写法1 (In [63]): ``train_on_batch`` per single step of X_train (90, 20), reset per sequence."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)  # (n_seq * 20, 1, 1) in sequence order
        L = self.seq_len
        X_train = x.reshape(-1, L)  # the notebook's names; (90, 20): In [63] ran before In [91]
        y_train = y[::L]
        train_loss = []
        for i in range(X_train.shape[0]):
            for j in range(X_train.shape[1]):
                loss = self.model.train_on_batch(
                    np.expand_dims(np.expand_dims(np.expand_dims(X_train[i, j], axis=0), axis=0),
                                   axis=0),
                    np.expand_dims(y_train[i], axis=0))
                train_loss.append(_first(loss))
            reset_states(self.model)
        return float(np.mean(train_loss))


class Writing2(_NotebookEngine):
    """写法2 as written for X_train (90, 20) (``X_train[i].shape = (20,)``): the 20 steps of a
    sequence as one batch of 20 one-step samples, reset after each sequence."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)  # windows of 1 in sequence order (the study does not shuffle)
        L = self.seq_len
        X_train = x.reshape(-1, L)
        y_train = y[::L]
        batch_size = X_train.shape[1]  # = 20
        train_loss = []
        for i in range(X_train.shape[0]):
            # X_train[i].shape = (20,)
            loss = self.model.train_on_batch(
                np.expand_dims(np.expand_dims(X_train[i], axis=1), axis=2),
                np.array([y_train[i]] * batch_size))
            train_loss.append(_first(loss))
            reset_states(self.model)
        return float(np.mean(train_loss))


class Writing2AfterReshape(_NotebookEngine):
    """写法2 run after In [91]'s ``reshape((1800, 1, 1))``: it fails, and the error says why."""

    model_batch = 1  # batch_size = X_train.shape[1] = 1 after the reshape

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        self.predict(evalset)  # its loop fails on the real data; there is nothing to time

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)
        X_train = x.reshape(-1, 1, 1)  # the notebook reshaped to (1800, 1, 1)
        y_train = y[:: self.seq_len]  # one label per sequence, as the notebook's get_data()
        batch_size = X_train.shape[1]  # = 1, not the 20 steps the text intends
        i = 0
        try:
            for i in range(X_train.shape[0]):
                self.model.train_on_batch(
                    np.expand_dims(np.expand_dims(X_train[i], axis=1), axis=2),
                    np.array([y_train[i]] * batch_size))
                reset_states(self.model)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NotebookError(
                f"写法2 after In [91]'s reshape cannot run: {type(exc).__name__} at i = {i} "
                f"({first[:120]}): X_train was reshaped to {X_train.shape}, so batch_size = "
                f"X_train.shape[1] = {batch_size}, every update is one step of shape "
                f"{np.expand_dims(np.expand_dims(X_train[0], axis=1), axis=2).shape}, and the "
                f"loop over {X_train.shape[0]} rows indexes the {len(y_train)} labels of y_train"
            ) from None
        raise NotebookError("写法2 after the reshape unexpectedly ran")  # pragma: no cover


class Writing3(_NotebookEngine):
    """写法3 (In [108]): ``fit(batch_size=1, shuffle=False)``, a reset every 20 batches."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = self._samples(batches)
        return self._fit(x, y, 1, _status_reset_every(self.seq_len))


class Writing3LabelBug(Writing3):
    label_bug = True


class Writing4(_NotebookEngine):
    """写法4 (In [166]): ``fit(batch_size=20, shuffle=False)``, a reset before every batch."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = self._samples(batches)
        return self._fit(x, y, batches.xs.shape[2], _status_reset_every(1))


class Writing4LabelBug(Writing4):
    label_bug = True


class Writing5(_NotebookEngine):
    """写法5 (In [190]-[198]): pairs of steps with their own labels (``y_train_4[_len] = data[i,
    0]``), ``fit(batch_size=19, shuffle=False)``, a reset before every batch."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)
        return self._fit(x, y, batches.xs.shape[2], _status_reset_every(1))


class StatelessFit(_NotebookEngine):
    """The stateless cell (In [5]): ``fit(batch_size=11, shuffle=False)`` on windows of 10."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)
        history = self.model.fit(x, y, batch_size=batches.xs.shape[2], epochs=1, verbose=0,
                                 shuffle=False)
        return float(history.history["loss"][-1])


FORMS: dict[str, tuple[type[_NotebookEngine], bool]] = {
    # "variant:form" (spec.NOTEBOOK_FORMS): (engine, stateful LSTM layer as the notebook builds it)
    "stateless-w10:as-written": (StatelessFit, False),
    "writing-1:as-written": (Writing1, True),
    "writing-2:as-written": (Writing2, True),
    "writing-2:after-reshape": (Writing2AfterReshape, True),
    "writing-3:as-meant": (Writing3, True),
    "writing-3:label-bug": (Writing3LabelBug, True),
    "writing-4:as-meant": (Writing4, True),
    "writing-4:label-bug": (Writing4LabelBug, True),
    "writing-5:as-written": (Writing5, True),
}


def notebook_engine(spec: TrialSpec, batches: Batches, evalset: EvalSet) -> _NotebookEngine:
    """Return the engine of ``spec.train.engine`` ("notebook:VARIANT:FORM")."""
    engine_cls, stateful = FORMS[spec.train.engine.removeprefix("notebook:")]
    return engine_cls(spec, batches, evalset, stateful=stateful)
