"""The seed notebook's five "writings", run as it wrote them (Keras 3 spelling).

Each form is an engine, chosen by the trial spec like any other (``train.engine =
"notebook:writing-1:as-written"``): it trains with the notebook's own loop, while the trial
runner times it and scores it on the validation split exactly like every other trial (one
prediction per chunk or window, state from zero). So an as-written form and its canonical
lstmbench configuration are measured the same way and can be compared.

Data: every form uses lstmbench's task and split (the notebook drew new data per cell, and its
stateless cell split *windows*, so one sequence's windows sat on both sides of the split); the
weights start from the same seeded values as the canonical run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmbench.engines import KerasEngine, reset_states
from lstmbench.feeding import Batches, EvalSet
from lstmbench.spec import TrialSpec


class NotebookError(RuntimeError):
    """The notebook's code, as written, cannot run (the message says why)."""


def _flat(batches: Batches) -> tuple[np.ndarray, np.ndarray]:
    """Samples in feeding order as the notebook's flat arrays: X (n, T, 1), one label per chunk."""
    n_batches, n_chunks, B, T, F = batches.xs.shape
    x = batches.xs.transpose(0, 2, 1, 3, 4).reshape(n_batches * B * n_chunks, T, F)
    y = np.repeat(batches.ys.reshape(-1), n_chunks)
    return x, y


class _NotebookEngine(KerasEngine):
    """The Keras reference engine with the notebook's training loop in ``train_epoch``."""

    def __init__(self, spec: TrialSpec, batches: Batches, evalset: EvalSet, *,
                 model_batch: int, stateful: bool = True) -> None:
        _, n_chunks, _, T, _ = batches.xs.shape
        xla = spec.train.xla
        super().__init__(units=spec.model.units, learning_rate=spec.train.learning_rate,
                         seed=spec.seed, stateful=stateful,
                         batch_shape=(1, n_chunks, model_batch, T, 1),
                         eval_shape=evalset.xv.shape,
                         jit_compile="auto" if xla == "auto" else xla == "on")
        self.name = f"keras/{type(self).__name__}"
        self.seq_len = spec.task.seq_len

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        self.predict(evalset)  # fit/train_on_batch compile on first use, inside epoch 1

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


class Writing1(_NotebookEngine):
    """写法1: ``train_on_batch`` per single timestep, ``reset_states`` after each sequence."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)  # (n_seq * 20, 1, 1) in sequence order
        L = self.seq_len
        X_train = x.reshape(-1, L)  # the notebook's names
        y_train = y[::L]
        train_loss = []
        for i in range(X_train.shape[0]):
            for j in range(X_train.shape[1]):
                loss = self.model.train_on_batch(
                    np.expand_dims(np.expand_dims(np.expand_dims(X_train[i, j], axis=0), axis=0),
                                   axis=0),
                    np.expand_dims(y_train[i], axis=0))
                train_loss.append(float(np.asarray(loss).reshape(-1)[0]))
            reset_states(self.model)
        return float(np.mean(train_loss))


class Writing2AsWritten(_NotebookEngine):
    """写法2 exactly as written: it fails, and the error says why."""

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
                f"写法2 as written cannot run: {type(exc).__name__} at i = {i} ({first[:120]}): "
                f"X_train was reshaped to {X_train.shape}, so batch_size = X_train.shape[1] = "
                f"{batch_size}, every update is one step of shape "
                f"{np.expand_dims(np.expand_dims(X_train[0], axis=1), axis=2).shape}, and the "
                f"loop over {X_train.shape[0]} rows indexes the {len(y_train)} labels of y_train"
            ) from None
        raise NotebookError("写法2 as written unexpectedly ran")  # pragma: no cover


class Writing2AsMeant(_NotebookEngine):
    """写法2 as meant: a batch of the 20 steps of one sequence, stateful, reset per sequence."""

    def train_epoch(self, batches: Batches) -> float:
        losses = []
        for b in range(batches.xs.shape[0]):  # feeding: W=1, B=20, no shuffle -> one sequence
            loss = self.model.train_on_batch(batches.xs[b, 0], batches.ys[b])
            losses.append(float(np.asarray(loss).reshape(-1)[0]))
            reset_states(self.model)
        return float(np.mean(losses))


class Writing3(_NotebookEngine):
    """写法3: ``fit(batch_size=1, shuffle=False)``, a callback resetting every 20 batches."""

    label_bug = False

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)
        L = self.seq_len
        if self.label_bug:
            y_train = y[::L]
            y_train_new = np.zeros((x.shape[0],))
            for i in range(y_train.shape[0]):
                for j in range(L):
                    y_train_new[j] = y_train[i]  # the notebook's bug: [j], not [i * 20 + j]
            y = y_train_new
        return self._fit(x, y, 1, _status_reset_every(L))


class Writing3LabelBug(Writing3):
    label_bug = True


class _ResetEveryBatch(_NotebookEngine):
    """写法4 and 5: ``fit(shuffle=False)`` with a callback resetting before every batch."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)
        return self._fit(x, y, batches.xs.shape[2], _status_reset_every(1))


class Writing4(_ResetEveryBatch):
    pass


class Writing5(_ResetEveryBatch):
    pass


class StatelessFit(_NotebookEngine):
    """The stateless cell: ``fit(batch_size=11, shuffle=False)`` on windows of 10."""

    def train_epoch(self, batches: Batches) -> float:
        x, y = _flat(batches)
        history = self.model.fit(x, y, batch_size=batches.xs.shape[2], epochs=1, verbose=0,
                                 shuffle=False)
        return float(history.history["loss"][-1])


FORMS: dict[str, tuple[type[_NotebookEngine], bool]] = {
    # "variant:form" (spec.NOTEBOOK_FORMS): (engine, stateful LSTM layer as the notebook builds it)
    "stateless-w10:as-written": (StatelessFit, False),
    "writing-1:as-written": (Writing1, True),
    "writing-2:as-written": (Writing2AsWritten, True),
    "writing-2:as-meant": (Writing2AsMeant, True),
    "writing-3:as-meant": (Writing3, True),
    "writing-3:label-bug": (Writing3LabelBug, True),
    "writing-4:as-written": (Writing4, True),
    "writing-5:as-written": (Writing5, True),
}


def notebook_engine(spec: TrialSpec, batches: Batches, evalset: EvalSet) -> _NotebookEngine:
    """Return the engine of ``spec.train.engine`` ("notebook:VARIANT:FORM")."""
    engine_cls, stateful = FORMS[spec.train.engine.removeprefix("notebook:")]
    model_batch = 1 if engine_cls is Writing2AsWritten else batches.xs.shape[2]
    return engine_cls(spec, batches, evalset, model_batch=model_batch, stateful=stateful)
