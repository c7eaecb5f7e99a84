"""The summary as one JSON object, for scripts and CI: the same numbers as every other rendering.

Keys are the summary's own fields (``dataclasses.asdict``), plus ``primary_test`` and ``p`` at the
top: the Holm-adjusted p-value of the primary test (the arms' converged share per
configuration), the one the verdict reads. Infinite or undefined numbers (a time to solution
where no seed converged) are ``null``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from lstmbench.report._compare import PRIMARY
from lstmbench.report._summary import Summary

API_VERSION = 1  # of this JSON object; bumped when a key changes meaning or goes away


def render_json(summary: Summary) -> str:
    """Return the summary as one line of JSON."""
    data = dataclasses.asdict(summary)
    primary = next((t for t in summary.tests if t.measure == PRIMARY), None)
    head = {"api_version": API_VERSION, "primary_test": PRIMARY if primary else None,
            "p": None if primary is None else primary.p_adjusted}
    return json.dumps(_finite({**head, **data}), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
