"""Reading studies back: rows of trials, summaries, renderings. Never imports TensorFlow."""

from __future__ import annotations

from lstmbench.report._records import describe_config, trial_rows, trials_frame

__all__ = ["describe_config", "trial_rows", "trials_frame"]
