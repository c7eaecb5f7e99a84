"""Engines train one model, or a population of K members, on the layouts of ``feeding``;
they never import Optuna."""

from __future__ import annotations

from lstmbench.engines._base import Engine, score
from lstmbench.engines._keras import KerasEngine, reset_states
from lstmbench.engines._population import Population, make_population
from lstmbench.engines._tf import tensorflow
from lstmbench.feeding import Batches, EvalSet
from lstmbench.spec import TrialSpec

# Measured on a 2-core CPU (`lstmbench train --xla on|off --json`, 8 units, 100x20 task): XLA
# costs 0.35-0.85 s more to compile than a plain tf.function (T=1 B=1..30: 0.35-0.6; W=10 B=10:
# 0.85). Without XLA an update of the shared programs (``_compiled``: padded units, steps read
# by index) costs ~200 us plus, per LSTM step, ~60 us and ~15 us per sample (K=4: T=1 B=10
# 306 us; T=5 B=5 1.1 ms; T=20 B=1 2.2 ms; W=11 B=30 5.4 ms; W=2 B=90 3.1 ms); with XLA a few us.
XLA_EXTRA_COMPILE_S = 0.6
PLAIN_UPDATE_S = 200e-6
PLAIN_STEP_S = 60e-6
PLAIN_SAMPLE_STEP_S = 15e-6


def choose_jit(spec: TrialSpec, batches: Batches) -> bool:
    """Return whether XLA pays for itself: the whole epoch budget run without XLA would take
    longer than XLA's extra compile time (e.g. on for stateful B=1, off for short runs)."""
    updates = batches.n_updates * spec.train.epochs
    step_s = PLAIN_STEP_S + PLAIN_SAMPLE_STEP_S * spec.model.batch_size
    plain_s = updates * (PLAIN_UPDATE_S + step_s * spec.model.steps)
    return plain_s > XLA_EXTRA_COMPILE_S


def make_engine(spec: TrialSpec, batches: Batches, evalset: EvalSet) -> Engine:
    """Return the engine named in ``spec.train.engine``, with weights drawn from ``spec.seed``.

    ``spec.train.xla``: "on"/"off" as said; "auto" lets :func:`choose_jit` decide for the
    compiled engine and leaves Keras' own default (off on TensorFlow) to the keras engine.
    """
    xla = spec.train.xla
    if spec.train.engine.startswith("notebook:"):
        from lstmbench.engines._notebook import notebook_engine

        return notebook_engine(spec, batches, evalset)
    common = dict(
        units=spec.model.units,
        learning_rate=spec.train.learning_rate,
        seed=spec.seed,
        batch_shape=batches.xs.shape,
        eval_shape=evalset.xv.shape,
    )
    if spec.train.engine == "keras":
        from lstmbench.engines._keras import KerasEngine

        return KerasEngine(stateful=spec.model.stateful,
                           jit_compile="auto" if xla == "auto" else xla == "on", **common)
    from lstmbench.engines._compiled import CompiledEngine

    return CompiledEngine(jit=choose_jit(spec, batches) if xla == "auto" else xla == "on", **common)


__all__ = ["Engine", "KerasEngine", "Population", "choose_jit", "make_engine", "make_population",
           "reset_states", "score", "tensorflow"]
