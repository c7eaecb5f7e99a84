"""The comparison of two arms, with what each test assumes, adjusted for testing several measures.

A sampler such as TPE chooses a configuration after looking at earlier results: the trials it
chose are not independent draws of their arm, and neither are the seeds of one configuration
draws of the arm. So each test takes one value per trial (its members' converged share, its
time to solution, its epoch time) and only the trials whose configuration was chosen before any
result was seen (a random sampler, TPE's random start-up, or a fixed list of variants). Three
tests on one study are three chances of a false alarm: Holm's adjustment keeps the chance of
any false alarm at 5 %, and the first test (convergence) is the primary one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lstmbench.report._groups import converged_members, members, tts
from lstmbench.report._stats import TestResult, holm, mann_whitney

ASSUMES = ("each configuration chosen before any result was seen is one independent draw of its "
           "arm, and its value is that of its trial (the share of its seeds that converged, its "
           "time to solution, its epoch time); adaptively chosen configurations are left out")
PRIMARY = "converged share per configuration"


def blind_rows(rows: Sequence[dict[str, Any]], arm: str) -> list[dict[str, Any]]:
    """Completed trials of ``arm`` whose configuration was chosen without looking at results."""
    return [r for r in rows if r.get("arm") == arm and r["state"] == "COMPLETE"
            and r.get("chosen_blind")]


def compare(rows: Sequence[dict[str, Any]], a: str, b: str) -> tuple[TestResult, ...]:
    """Return the tests of arm ``a`` against arm ``b``, the primary first, Holm-adjusted."""
    ra, rb = blind_rows(rows, a), blind_rows(rows, b)

    def share_of(r: dict[str, Any]) -> float:
        return converged_members(r) / members(r)

    tests = [
        mann_whitney([share_of(r) for r in ra], [share_of(r) for r in rb], PRIMARY),
        mann_whitney([tts(r) for r in ra], [tts(r) for r in rb], "time to solution per configuration"),
        mann_whitney([float(r["epoch_ms"]) for r in ra if r.get("epoch_ms") is not None],
                     [float(r["epoch_ms"]) for r in rb if r.get("epoch_ms") is not None],
                     "epoch time per configuration"),
    ]
    adjusted = holm([t.p_value for t in tests])
    return tuple(TestResult(t.name, t.measure, t.p_value, t.n_a, t.n_b, t.effect, ASSUMES, p)
                 for t, p in zip(tests, adjusted))

