"""Populations: K members of one configuration, each with its own seed, trained together.

The compiled engine trains all members in one program (``CompiledPopulation``); any other
engine — the Keras reference, the notebook's loops — trains K separate models one after the
other (:class:`SeparateMembers`): slow, and the reference the compiled population must equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from lstmbench.engines._base import Engine
from lstmbench.feeding import Batches, EvalSet
from lstmbench.spec import TrialSpec


class Population(Protocol):
    """Trains K members on population batches ``(n_batches, n_chunks, K, B, T, F)``, with the
    output layer and loss of ``batches.head``."""

    name: str
    jit: bool
    n_params: int  # per member
    members: int

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        """Trace and compile once, then restore every member's initial weights and optimizer."""

    def train_epoch(self, batches: Batches) -> np.ndarray:
        """Train one epoch; return each member's mean loss ``(K,)`` (NaN where it diverged)."""

    def predict(self, evalset: EvalSet) -> np.ndarray:
        """Return each member's predictions on the one validation set all members share:
        binary -> probabilities ``(K, n_chunks, N)``; softmax -> probabilities
        ``(K, n_chunks, N, C)``; linear -> values ``(K, n_chunks, N)``."""


class SeparateMembers:
    """K one-model engines behind the population interface; member i trains on its own slice."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        self.engines = list(engines)
        first = self.engines[0]
        self.name, self.jit, self.n_params = first.name, first.jit, first.n_params
        self.members = len(self.engines)
        self.reused = all(getattr(e, "reused", False) for e in self.engines)

    def warm_up(self, batches: Batches, evalset: EvalSet) -> None:
        for i, engine in enumerate(self.engines):
            engine.warm_up(batches.member(i), evalset)

    def train_epoch(self, batches: Batches) -> np.ndarray:
        return np.array([e.train_epoch(batches.member(i)) for i, e in enumerate(self.engines)])

    def predict(self, evalset: EvalSet) -> np.ndarray:
        return np.stack([e.predict(evalset) for e in self.engines])


def make_population(spec: TrialSpec, batches: Batches, evalset: EvalSet) -> Population:
    """Return the ``spec.train.replicates`` members of ``spec`` (seeds ``spec.member_seeds``).

    The compiled engine trains them in one program; every other engine (the Keras reference,
    the notebook's forms) as K separate models, member i being ``spec.member_spec(i)``.
    ``spec.train.xla`` "auto" is XLA on for the compiled engine.
    """
    from lstmbench.engines import make_engine

    if spec.train.engine == "compiled":
        from lstmbench.engines._compiled import CompiledPopulation

        return CompiledPopulation(
            units=spec.model.units, learning_rate=spec.train.learning_rate,
            seeds=spec.member_seeds, batch_shape=batches.xs.shape,
            jit=spec.train.xla != "off", exact_shape=spec.train.programs == "exact",
            head=batches.head,
        )
    return SeparateMembers([
        make_engine(spec.member_spec(i), batches.member(i), evalset)
        for i in range(spec.train.replicates)
    ])
