"""The format of a trial's stored result (its user attributes), and how older ones are read.

Like asv's result files: every result carries ``format``; a reader steps an older one forward by
one migration per version, and refuses one from a newer lstmbench with a message naming both.

- format 1 (lstmbench 0.1, no ``format`` key): one seed per trial.
- format 2: K members per trial (``replicates``, ``converged_share``, ``member_*``),
  ``time_to_solution_s`` (None: no member converged) and ``chosen_blind`` (whether the sampler
  chose the configuration without looking at any result; None: not known). ``median_epoch``
  is absent when no member converged (earlier results of this format hold null; a reader
  takes both as None), so that optuna-dashboard can plot it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lstmbench.errors import UserError

FORMAT_KEY = "format"
RESULT_FORMAT = 2


def _from_1(attrs: dict[str, Any]) -> dict[str, Any]:
    """One seed per trial -> a trial of one member."""
    converged = bool(attrs.get("converged"))
    epoch = attrs.get("convergence_epoch")
    seconds = sum((attrs.get("train_ms") or [])[:epoch or 0]) / 1e3 if converged else None
    return {
        **attrs,
        "replicates": 1,
        "converged_share": 1.0 if converged else 0.0,
        "median_epoch": epoch if converged else None,
        "member_seeds": [attrs.get("seed")],
        "member_epochs": [epoch if converged else None],
        "member_best_val_accuracy": [attrs.get("best_val_accuracy")],
        "member_train_s": [seconds],
        "member_val_accuracy": [attrs.get("val_accuracy") or []],
        "time_to_solution_s": seconds,
        "chosen_blind": None,
    }


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_1}  # n -> n + 1


def stamped(attrs: dict[str, Any]) -> dict[str, Any]:
    """Return a result's attributes as this lstmbench writes them: with ``format``."""
    return {**attrs, FORMAT_KEY: RESULT_FORMAT}


def upgraded(attrs: dict[str, Any], where: str) -> dict[str, Any]:
    """Return stored result attributes in the current format; refuse a newer or unknown one.

    ``where`` names the trial in the message (e.g. ``trial 12 of study 'default'``).
    """
    version = attrs.get(FORMAT_KEY, 1)
    if not isinstance(version, int) or not 1 <= version <= RESULT_FORMAT:
        from lstmbench import __version__

        raise UserError(
            f"{where} holds a result of format {version!r}; lstmbench {__version__} reads formats "
            f"1 to {RESULT_FORMAT}: upgrade lstmbench (pip install -U lstmbench) to read it",
            exit_code=1)
    while version < RESULT_FORMAT:
        attrs = MIGRATIONS[version](attrs)
        version += 1
    return {**attrs, FORMAT_KEY: RESULT_FORMAT}
