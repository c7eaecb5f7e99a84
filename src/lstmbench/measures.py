"""Measures shared by the trial runner (which records them) and the report (which pools them)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def time_to_solution(member_seconds: Sequence[float | None], budget_s: Sequence[float]) -> float:
    """Return the expected training seconds to obtain one converged model, restarting failed seeds.

    docs/design.md: the mean training seconds of a member run — ``member_seconds[i]`` for a member
    that converged (None for one that did not), which then counts its whole run,
    ``budget_s[i]`` — divided by the share of members that converged. ``inf`` when none did.
    """
    converged = [s for s in member_seconds if s is not None]
    if not converged:
        return math.inf
    runs = [b if s is None else s for s, b in zip(member_seconds, budget_s)]
    return statistics.fmean(runs) / (len(converged) / len(member_seconds))
