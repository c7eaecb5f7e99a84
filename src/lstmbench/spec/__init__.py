"""Specs: frozen dataclasses for the task, training, model and whole studies; a TOML loader."""

from __future__ import annotations

from lstmbench.spec._model import (
    ENGINES,
    MEMBER_SEED_STRIDE,
    NOTEBOOK_ENGINES,
    NOTEBOOK_FORMS,
    PROGRAMS,
    XLA,
    ModelConfig,
    TaskSpec,
    TrainSpec,
    TrialSpec,
    describe_config,
)
from lstmbench.spec._study import (
    ARMS,
    ConfirmationSpec,
    ObjectiveSpec,
    SamplerSpec,
    SearchSpace,
    SpecError,
    StudySpec,
    Variant,
    divisors,
)
from lstmbench.spec._toml import find_spec, load_study_spec, shipped_studies

__all__ = [
    "ARMS",
    "ENGINES",
    "MEMBER_SEED_STRIDE",
    "NOTEBOOK_ENGINES",
    "NOTEBOOK_FORMS",
    "PROGRAMS",
    "XLA",
    "ConfirmationSpec",
    "ModelConfig",
    "ObjectiveSpec",
    "SamplerSpec",
    "SearchSpace",
    "SpecError",
    "StudySpec",
    "TaskSpec",
    "TrainSpec",
    "TrialSpec",
    "Variant",
    "describe_config",
    "divisors",
    "find_spec",
    "load_study_spec",
    "shipped_studies",
]
