"""Engines train one model on the layouts of ``feeding``; they never import Optuna."""

from __future__ import annotations

from lstmbench.engines._base import Engine, score
from lstmbench.feeding import Batches, EvalSet
from lstmbench.spec import TrialSpec


def make_engine(spec: TrialSpec, batches: Batches, evalset: EvalSet, *, jit: bool = True) -> Engine:
    """Return the engine named in ``spec.train.engine``, with weights drawn from ``spec.seed``."""
    common = dict(
        units=spec.model.units,
        learning_rate=spec.train.learning_rate,
        seed=spec.seed,
        batch_shape=batches.xs.shape,
        eval_shape=evalset.xv.shape,
    )
    if spec.train.engine == "keras":
        from lstmbench.engines._keras import KerasEngine

        return KerasEngine(stateful=spec.model.stateful, **common)
    from lstmbench.engines._compiled import CompiledEngine

    return CompiledEngine(jit=jit, **common)


__all__ = ["Engine", "make_engine", "score"]
