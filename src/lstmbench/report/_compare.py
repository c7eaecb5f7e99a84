"""The comparison of two arms: what is compared, on which trials, and in which order.

A sampler such as TPE chooses a configuration after looking at earlier results: the trials it
chose are not independent draws of their arm, and neither are the seeds of one configuration
draws of the arm. So each test takes one value per trial (its members' converged share, its
time to solution, its epoch time) and only the trials whose configuration was drawn without
seeing any result (a random sampler, TPE's random start-up, or a fixed list of variants);
confirmation trials re-run a chosen configuration and are never among them. The tests are exact
rank tests read as a fixed sequence, the primary (convergence) first (see ``_exact``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lstmbench.report._exact import TestResult, fixed_sequence, rank_test
from lstmbench.report._groups import converged_members, members, tts

ASSUMES = ("each configuration drawn before any result was seen is one independent draw of its "
           "arm, and its value is that of its trial (the share of its seeds that converged, its "
           "time to solution, its epoch time); adaptively chosen configurations are left out")
PRIMARY = "converged share per configuration"
SOLUTION = "time to solution per configuration"
EPOCH = "epoch time per configuration"


def blind_rows(rows: Sequence[dict[str, Any]], arm: str) -> list[dict[str, Any]]:
    """Completed trials of ``arm`` whose configuration was chosen without looking at results."""
    return [r for r in rows if r.get("arm") == arm and r["state"] == "COMPLETE"
            and r.get("chosen_blind") and not r.get("confirmation")]


def compare(rows: Sequence[dict[str, Any]], a: str, b: str) -> tuple[TestResult, ...]:
    """Return the tests of arm ``a`` against arm ``b`` in their fixed order, the primary first."""
    ra, rb = blind_rows(rows, a), blind_rows(rows, b)

    def share_of(r: dict[str, Any]) -> float:
        return converged_members(r) / members(r)

    tests = [
        rank_test([share_of(r) for r in ra], [share_of(r) for r in rb], PRIMARY),
        rank_test([tts(r) for r in ra], [tts(r) for r in rb], SOLUTION),
        _epoch_test(ra, rb),
    ]
    adjusted = fixed_sequence([t.p_value for t in tests])
    return tuple(TestResult(t.name, t.measure, t.p_value, t.n_a, t.n_b, t.effect, ASSUMES, p,
                            t.min_attainable_p, t.method) for t, p in zip(tests, adjusted))


def _epoch_test(ra: list[dict[str, Any]], rb: list[dict[str, Any]]) -> TestResult:
    """Epoch times compared only between trials of equal batch size (the arms' menus differ: an
    epoch of more, smaller batches is slower whatever the arm), stratified by batch size."""
    timed_a = [r for r in ra if r.get("epoch_ms") is not None and r.get("batch_size") is not None]
    timed_b = [r for r in rb if r.get("epoch_ms") is not None and r.get("batch_size") is not None]
    if not (timed_a and timed_b):
        return TestResult("exact rank test", EPOCH, None, len(timed_a), len(timed_b),
                          "needs a configuration in each arm")
    shared = sorted({r["batch_size"] for r in timed_a} & {r["batch_size"] for r in timed_b})
    if not shared:
        return TestResult("exact rank test", EPOCH, None, 0, 0,
                          "no batch size in both arms' configurations: not compared")
    measure = f"{EPOCH} at equal batch size ({', '.join(map(str, shared))})"
    xa = [r for r in timed_a if r["batch_size"] in shared]
    xb = [r for r in timed_b if r["batch_size"] in shared]
    test = rank_test([float(r["epoch_ms"]) for r in xa], [float(r["epoch_ms"]) for r in xb],
                     measure, [r["batch_size"] for r in xa], [r["batch_size"] for r in xb])
    left = sorted({r["batch_size"] for r in timed_a + timed_b} - set(shared))
    if not left:
        return test
    return TestResult(test.name, measure, test.p_value, test.n_a, test.n_b,
                      f"{test.effect}; batch sizes {', '.join(map(str, left))} left out",
                      min_attainable_p=test.min_attainable_p, method=test.method)
