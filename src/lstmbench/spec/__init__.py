"""Specs: frozen dataclasses for the task, training, model and whole studies; a TOML loader."""

from __future__ import annotations

from lstmbench.spec._model import (
    ENGINES,
    KINDS,
    MEMBER_SEED_STRIDE,
    METRICS,
    NOTEBOOK_ENGINES,
    NOTEBOOK_FORMS,
    PROGRAMS,
    REGRESSION_TOLERANCE,
    XLA,
    ModelConfig,
    TaskSpec,
    TrainSpec,
    TrialSpec,
    describe_config,
    n_windows,
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
    "KINDS",
    "MEMBER_SEED_STRIDE",
    "METRICS",
    "NOTEBOOK_ENGINES",
    "NOTEBOOK_FORMS",
    "PROGRAMS",
    "REGRESSION_TOLERANCE",
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
    "n_windows",
    "shipped_studies",
]
