"""Specs: frozen dataclasses for the task, training, model and (later) whole studies."""

from __future__ import annotations

from lstmbench.spec._model import ENGINES, ModelConfig, TaskSpec, TrainSpec, TrialSpec

__all__ = ["ENGINES", "ModelConfig", "TaskSpec", "TrainSpec", "TrialSpec"]
