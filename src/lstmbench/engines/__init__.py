"""Engines train one model, or a population of K members, on the layouts of ``feeding``;
they never import Optuna."""

from __future__ import annotations

from lstmbench.engines._base import Engine
from lstmbench.engines._keras import KerasEngine, reset_states
from lstmbench.engines._population import Population, make_population
from lstmbench.engines._tf import tensorflow
from lstmbench.errors import UserError
from lstmbench.feeding import BINARY, Batches, EvalSet
from lstmbench.spec import TrialSpec


def make_engine(spec: TrialSpec, batches: Batches, evalset: EvalSet) -> Engine:
    """Return the one-model engine named in ``spec.train.engine`` (the Keras reference or a
    notebook form), with weights drawn from ``spec.seed``, for the data's features and head
    (``batches.head``; the notebook's forms take one feature and two classes only).

    The compiled engine trains populations only (:func:`make_population`; one model is the
    population of one). ``spec.train.xla``: "on"/"off" as said; "auto" leaves Keras' own
    default (off on TensorFlow).
    """
    engine = spec.train.engine
    if engine.startswith("notebook:"):
        from lstmbench.engines._notebook import notebook_engine

        if batches.head != BINARY or batches.n_features != 1:
            raise UserError(f"engine {engine!r} reproduces the notebook: one feature and two "
                            "classes only; use --engine compiled or keras for this data")
        return notebook_engine(spec, batches, evalset)
    if engine != "keras":
        raise ValueError(f"engine {engine!r} trains populations: use make_population")
    xla = spec.train.xla
    return KerasEngine(units=spec.model.units, learning_rate=spec.train.learning_rate,
                       seed=spec.seed, stateful=spec.model.stateful,
                       batch_shape=batches.xs.shape, eval_shape=evalset.xv.shape,
                       jit_compile="auto" if xla == "auto" else xla == "on", head=batches.head)


__all__ = ["Engine", "KerasEngine", "Population", "make_engine", "make_population",
           "reset_states", "tensorflow"]
