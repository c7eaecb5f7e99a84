"""Optuna studies: spec -> search space -> objective; workers, heartbeat, progress, replay."""

from __future__ import annotations

from lstmbench.study._sweep import SweepOutcome, run_sweep

__all__ = ["SweepOutcome", "run_sweep"]
