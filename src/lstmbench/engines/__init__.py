"""Engines train one model, or a population of K members, on the layouts of ``feeding``;
they never import Optuna."""

from __future__ import annotations

from lstmbench.engines._base import Engine
from lstmbench.engines._keras import KerasEngine, reset_states
from lstmbench.engines._population import Population, make_population
from lstmbench.engines._tf import tensorflow
from lstmbench.feeding import Batches, EvalSet
from lstmbench.spec import TrialSpec


def make_engine(spec: TrialSpec, batches: Batches, evalset: EvalSet) -> Engine:
    """Return the engine named in ``spec.train.engine``, with weights drawn from ``spec.seed``.

    ``spec.train.xla``: "on"/"off" as said; "auto" is on for the compiled engine (its programs
    are shared by trials and cached across processes: see ``_compiled``) and leaves Keras' own
    default (off on TensorFlow) to the keras engine.
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

    return CompiledEngine(jit=xla != "off", exact_shape=spec.train.programs == "exact", **common)


__all__ = ["Engine", "KerasEngine", "Population", "make_engine", "make_population",
           "reset_states", "tensorflow"]
