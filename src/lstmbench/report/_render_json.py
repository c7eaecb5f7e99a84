"""The summary as one JSON object, for scripts and CI: the same numbers as every other rendering.

Keys are the summary's own fields (``dataclasses.asdict``), plus at the top ``primary_test``,
``p`` (the primary test's p-value, the one the verdict reads: first in the fixed sequence, so
unadjusted) and ``min_attainable_p`` (the smallest p its numbers of blind configurations allow).
Each arm's ``converged_share`` is ``{value, low, high, n}`` (n: blind configurations) and
``difference`` is ``{value, low, high}``, first arm minus second. Infinite or undefined numbers
(a time to solution where no seed converged: "never") are ``null``.

Version 2: tests are exact and read in a fixed sequence (``p_adjusted`` was Holm's), an arm's
``time_to_solution_s`` is the median over every completed trial with "never" counted (it was
over trials that converged), and ``never``, ``pooled_time_to_solution_s``, ``difference``,
``regions``, ``confirmations`` are new.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from lstmbench.report._compare import PRIMARY
from lstmbench.report._summary import Summary

API_VERSION = 2  # of this JSON object; bumped when a key changes meaning or goes away


def render_json(summary: Summary) -> str:
    """Return the summary as one line of JSON."""
    data = dataclasses.asdict(summary)
    primary = next((t for t in summary.tests if t.measure == PRIMARY), None)
    head = {"api_version": API_VERSION, "primary_test": PRIMARY if primary else None,
            "p": None if primary is None else primary.p_adjusted,
            "min_attainable_p": None if primary is None else primary.min_attainable_p}
    return json.dumps(_finite({**head, **data}), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
