"""Optuna studies: spec -> search space -> objective; storage, workers, heartbeat, progress."""

from __future__ import annotations

from lstmbench.study._storage import DEFAULT_STORAGE, mask, open_storage, storage_url
from lstmbench.study._sweep import SweepOutcome, run_sweep

__all__ = ["DEFAULT_STORAGE", "SweepOutcome", "mask", "open_storage", "run_sweep", "storage_url"]
