"""The default engine: an epoch in a few calls of one ``tf.function`` (XLA on), Keras variables inside.

The model is Keras' ``LSTMCell`` on F input features and a ``Dense(C)`` head: the same weights
(``kernel``, ``recurrent_kernel``, ``bias`` in gate order i, f, c, o; then the Dense kernel and
bias) and the same math as ``LSTMCell.call``, written out, trained by a Keras ``Adam``. The
head (``feeding.Head``) is a sigmoid unit with binary cross-entropy, a softmax over C classes
with cross-entropy, or a linear unit with squared error, each loss computed from the logits
as Keras does (``_math.head_functions``). The weights are
packed into two Keras variables — ``lstm = [kernel; recurrent_kernel; bias]`` of shape
``(F + U + 1, 4U)`` and ``head = [dense_kernel; dense_bias]`` of shape ``(U + 1, C)`` — so that
Adam updates two variables instead of five, and at batch size 1 one product ``[x, h, 1] @ lstm``
gives a step's gates. Adam is elementwise: Adam on the packed variables is Adam on the five
weights. At these sizes every XLA kernel costs about as much to launch as to run, so fewer
kernels per update is the whole game (B=1 epoch 6.5 → 4.5 ms, compile 1.1 → 0.8 s);
``tests/test_engines.py`` checks the result against the Keras reference.

**Population.** The program trains K members of one configuration at once: both packed
variables carry a leading member axis, ``(K, F + U + 1, 4U)`` and ``(K, U + 1, C)``, and the
batches one too (``feeding.population_batches``: each member its own order). Every product is
batched over members, so an update launches the same kernels for any K. The loss the tape sees
is the *sum* of the members' mean losses: its gradient with respect to member i's slice is
member i's own gradient, and Adam, elementwise, then steps each slice as a one-member run
would (``tests/test_population.py``). A single model is the population of one (measured no
slower than the former one-model program: B=1 3.8 vs 4.1 ms, B=10 1.4 vs 1.6 ms CPU an epoch).
At B=1 an update is ~27 small kernels whatever K, so K members cost far less than K runs
(``bench/engines.py --population-only``: K=16 ~3.5x the epoch of K=1). What grows with K is
elementwise work on K x 329 parameters, mostly Adam's sqrt and divide, which share the
divider unit (~1.5 cycles a parameter an update; without them K=16 would be ~2.7x K=1).

The epoch is a flat ``while`` loop over updates (chunk k of batch b). The LSTM state is a
pair of tensors carried from update to update, set to zero where a batch starts (k = 0); each
update is one optimizer step whose gradient tape sees only its chunk, so gradients stop at
chunk boundaries exactly as with Keras' ``stateful=True``. The steps of a chunk run in a
``while`` loop bounded by the real number of steps (written out, in a program of exact shapes
only, when a chunk is one step).

**Shared programs** (``_shapes``). A program is built for a few bucketed sizes — members,
samples per batch (2, 11, 30, 90), steps of a sample, units — and for its features and head
(never padded), and takes the rest as runtime
values: batches (an epoch is a few calls of ``BLOCK`` batches; one call in an exact-shape
program, where a call's ~0.4 ms of CPU would be 10 % of an epoch), chunks, steps per chunk,
samples. Padding never enters the math (``tests/test_buckets.py``: losses within 6e-8 of the
exact-shape program, predictions within 1.2e-7). Data is read with ``tf.gather``: XLA takes
the start of a slice (``xs[b]``) as a compile-time constant and compiled a program per value.
Compiling is the cost to cut: a program is ~2 CPU-s of XLA (0.3 s tracing, 0.3 s lowering, the
rest LLVM), an epoch of most configurations 10-40 ms. So the default study's whole space fits
four training programs (one per batch bucket), at the price of arithmetic on padded units and
samples and of a steps loop around one-step chunks (stateful T=1 B=1: 13 -> 29 ms an epoch,
for trials that converge in 1-3 epochs). Validation predictions do not depend on the batch
size: one XLA function per members, steps and units (``_predictors``) serves every program,
the weights being its arguments. A default sweep (50 trials, K=4, 2 workers) compiled 22
programs of 6 batch buckets and one-step chunks apart; it compiles 8-9. Programs are kept per
process (``_programs``) and their XLA code in the persistent cache (``_xla_cache``)
across processes and sweeps. A program's variables are working storage, not anyone's weights:
each population owns its weights and Adam state and takes the variables over before it trains
or predicts (:class:`CompiledPopulation`).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from lstmbench.engines._compiled._math import predict_function, train_function
from lstmbench.engines._compiled._shapes import (
    BLOCK,
    ProgramShape,
    eval_samples,
    eval_sequences,
    layout,
    padded_weights,
)
from lstmbench.engines._tf import tensorflow
from lstmbench.engines._weights import count_params, initial_weights
from lstmbench.engines._xla_cache import STALE_S, drop_broken_entries, locked, stable_names
from lstmbench.feeding import BINARY, Batches, EvalSet, Head


class _Program:
    """Variables, optimizer and compiled functions for one :class:`ProgramShape`."""

    def __init__(self, shape: ProgramShape, jit: bool) -> None:
        tf = tensorflow()
        import keras

        K, U, F, C = shape.members, shape.units, shape.features, shape.head.n_outputs
        self.lstm = keras.Variable(np.zeros((K, F + U + 1, 4 * U), np.float32), name="lstm")
        self.head = keras.Variable(np.zeros((K, U + 1, C), np.float32), name="head")
        self.variables = [self.lstm, self.head]
        # Named: Keras numbers unnamed optimizers per process (adam, adam_1, ...), and the name
        # is in the program's HLO, hence in its cache key.
        self.optimizer = keras.optimizers.Adam(1e-3, name="adam")
        self.optimizer.build(self.variables)
        # Everything a trial's training changes (Adam's step count and learning rate included):
        # what a population parks when another one uses this program.
        self.state = [*self.variables, *self.optimizer.variables]
        self.holder: weakref.ref[CompiledPopulation] | None = None
        self.train_block = train_function(tf, self.optimizer, self.lstm, self.head, shape=shape,
                                          jit=jit)
        self.train_call: Any = None  # its concrete function, once traced
        # Predictions do not depend on the batch size: one function per members, steps and
        # units serves every program of those (the weights are its arguments).
        self.predict_key = (replace(shape, batch=0, block=BLOCK), jit)
        if self.predict_key not in _predictors:
            _predictors[self.predict_key] = predict_function(tf, shape, jit=jit)
        self.predict = _predictors[self.predict_key]
        self.shape, self.jit = shape, jit
        self.compiled = False

    def ready(self, evalset: EvalSet) -> bool:
        """Whether training and predicting on ``evalset`` would compile nothing."""
        return self.compiled and (self.predict_key, eval_samples(evalset.xv.shape[1])) in _predicted

    def compile(self, batches: Batches, evalset: EvalSet) -> str | None:
        """Trace and compile what every epoch calls (one batch serves: any block of this shape),
        under names that make XLA's cache key the same in every process, one process at a time
        (``_xla_cache``).

        The predictor is traced once (any number of validation samples) and compiled by XLA for
        each bucket of them it meets (``eval_samples``): here, not in an epoch.
        Returns what XLA's persistent cache did: "hit" (loaded), "miss" (compiled and stored),
        "off" (no cache), None (XLA off).
        """
        train_key, predict_key = ("train", self.shape, self.jit), ("predict", *self.predict_key)
        if self.jit:  # an entry a killed process left cut short: gone before XLA reads it
            drop_broken_entries(older_than_s=STALE_S)
        # The program's lock spans its predictor's compile too: a second worker needing this
        # program waits for both entries, and its hit is not taken for a miss.
        with locked(train_key) as record:
            if not self.compiled:
                with stable_names(train_key):
                    self.train_epoch(Batches(batches.xs[:1], batches.ys[:1], batches.head))
                self.compiled = True
            with locked(predict_key), stable_names(predict_key):  # shared by programs
                self.predictions(evalset)
        _predicted.add((self.predict_key, eval_samples(evalset.xv.shape[1])))
        if not self.jit:
            return None
        return "off" if record.wrote is None else "miss" if record.wrote else "hit"

    def hold(self, population: CompiledPopulation) -> None:
        """Make the variables hold ``population``'s weights and Adam state (a no-op when they
        do): the previous holder's are copied into it (``parked``), ``population``'s own parked
        state, if any, copied in."""
        holder = self.holder() if self.holder is not None else None
        if holder is population:
            return
        if holder is not None:
            holder.parked = [var.numpy() for var in self.state]
        if population.parked is not None:
            for var, value in zip(self.state, population.parked):
                var.assign(value)
            population.parked = None
        self.holder = weakref.ref(population)

    def reset(self, weights: Sequence[list[np.ndarray]], learning_rate: float) -> None:
        """Start a new trial on this program: fresh weights, empty Adam slots.

        ``weights`` per member, in Keras' order: kernel, recurrent_kernel, bias, dense kernel,
        dense bias.
        """
        weights = [padded_weights(w, self.shape.units) for w in weights]
        self.lstm.assign(np.stack([np.concatenate([k, r, b[None]]) for k, r, b, _, _ in weights]))
        self.head.assign(np.stack([np.concatenate([dk, db[None]]) for _, _, _, dk, db in weights]))
        for var in self.optimizer.variables:
            var.assign(np.zeros(var.shape, dtype=var.dtype))
        self.optimizer.learning_rate.assign(learning_rate)

    def train_epoch(self, batches: Batches) -> np.ndarray:
        """One epoch, block by block: each member's mean loss ``(K,)``."""
        lay = layout(batches, self.shape)
        total = np.zeros(self.shape.members, np.float32)
        sizes = [np.int32(n) for n in (lay.n_chunks, lay.timesteps, lay.batch)]
        for xs, ys, n_batches in lay.blocks:
            if self.train_call is None:
                # The traced function itself: calling it skips the tf.function's dispatch on
                # its arguments (an empty call: ~750 -> ~360 us of CPU).
                self.train_call = self.train_block.get_concrete_function(
                    xs, ys, np.int32(n_batches), *sizes, total)
            total = self.train_call(xs, ys, np.int32(n_batches), *sizes, total)
        # float32 like the sum: the mean a single call over the epoch would return
        return (np.asarray(total, np.float32) / np.float32(lay.n_updates)).astype(np.float32)

    def predictions(self, evalset: EvalSet) -> np.ndarray:
        """The head's outputs ``(K, n_chunks, N)`` (``(K, n_chunks, N, C)`` for a softmax) on
        the shared validation set."""
        n_chunks, N, T, _ = evalset.xv.shape
        out = self.predict(self.lstm.value, self.head.value, eval_sequences(evalset, self.shape),
                           np.int32(n_chunks), np.int32(T))
        return np.ascontiguousarray(np.moveaxis(out.numpy()[:n_chunks, :, :N], 1, 0))


_programs: dict[tuple[Any, ...], _Program] = {}
_predictors: dict[tuple[Any, ...], Any] = {}
_predicted: set[tuple[Any, ...]] = set()  # (predictor, validation samples) compiled


class CompiledPopulation:
    """K members of one configuration in one compiled program (see the module docstring); a
    single model is the population of one.

    ``batch_shape`` is ``(n_batches, n_chunks, K, B, T, F)``; ``seeds`` gives each member's
    initial weights; ``head`` the output layer and loss. Trains on
    ``feeding.population_batches``; losses ``(K,)``, predictions ``(K, n_chunks, N)``
    (``(K, n_chunks, N, C)`` for a softmax).

    Populations of one program shape share its compiled functions and its variables, never
    their weights: the variables hold one population's weights and Adam state at a time, and
    a population about to train or predict first takes them over (``_Program.hold``), the
    previous holder's state parked in it. A sweep's trials follow one another (the previous
    trial's population is gone, nothing is copied); two live populations used in turn pay a
    copy of their weights and Adam slots per turn.
    """

    name = "compiled"

    def __init__(self, *, units: int, learning_rate: float, seeds: Sequence[int],
                 batch_shape: tuple[int, ...], jit: bool = True, exact_shape: bool = False,
                 head: Head = BINARY) -> None:
        if batch_shape[2] != len(seeds):
            raise ValueError(f"batches for {batch_shape[2]} members, seeds for {len(seeds)}")
        self.jit = jit
        self.members = len(seeds)
        features, outputs = batch_shape[-1], head.n_outputs
        self.n_params = count_params(units, features, outputs)  # per member
        self._weights = [initial_weights(units, features, s, outputs) for s in seeds]
        self._learning_rate = learning_rate
        # This population's state while another one holds the program's variables.
        self.parked: list[np.ndarray] | None = None
        shape = ProgramShape.of(units, tuple(batch_shape), exact=exact_shape, head=head)
        self._key = (shape, jit)
        if self._key not in _programs:
            _programs[self._key] = _Program(shape, jit)
        self._program = _programs[self._key]
        self.reused = self._program.compiled  # a previous trial already compiled these shapes
        # What XLA's persistent cache did for this trial: "hit" (loaded), "miss" (compiled and
        # stored), "off" (no cache); None when XLA compiled nothing (reused, or XLA off).
        self.xla_cache: str | None = None
        self._restart()

    def _restart(self) -> None:
        """This population's initial weights and a fresh Adam in the program's variables."""
        self._program.hold(self)
        self._program.reset(self._weights, self._learning_rate)

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        if not self._program.ready(evalset):
            self._program.hold(self)  # compiling trains a batch: on this population's weights
            try:
                self.xla_cache = self._program.compile(batches, evalset)
            except tensorflow().errors.OpError:
                # An entry cut short (its writer killed) fails the load, and TensorFlow remembers
                # the failure for the life of the function: drop the entry, build anew.
                if not (self.jit and drop_broken_entries()):
                    raise
                _predictors.pop(self._program.predict_key, None)
                _predicted.difference_update(
                    {k for k in _predicted if k[0] == self._program.predict_key})
                self._program = _programs[self._key] = _Program(*self._key)
                self._program.hold(self)
                self.xla_cache = self._program.compile(batches, evalset)
        self._restart()

    def train_epoch(self, batches: Batches) -> np.ndarray:
        self._program.hold(self)
        return self._program.train_epoch(batches)

    def predict(self, evalset: EvalSet) -> np.ndarray:
        self._program.hold(self)
        return self._program.predictions(evalset)
