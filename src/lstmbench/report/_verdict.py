"""The verdict: one paragraph of plain words that says what the numbers of a study show.

Each sentence comes from one function below, and says only what an interval or a test beside
it supports: estimates are called estimates, their scope is this study's space, and a claim
about the arms waits for the primary test.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lstmbench.report import _format as f
from lstmbench.report._task import lag_windows

if TYPE_CHECKING:
    from lstmbench.report._exact import TestResult
    from lstmbench.report._groups import WindowRow
    from lstmbench.report._stats import Estimate, Interval
    from lstmbench.report._summary import ArmSummary, Confirmation, Region

ALPHA = 0.05


def verdict_text(arms: tuple[ArmSummary, ...], tests: tuple[TestResult, ...],
                 windows: tuple[WindowRow, ...], gap: Interval,
                 regions: tuple[Region, ...] = (),
                 confirmations: tuple[Confirmation, ...] = ()) -> str:
    """Return the verdict paragraph for the arms of a study (the first two are compared)."""
    with_trials = [a for a in arms if a.complete]
    if not with_trials:
        return "No completed trials yet: nothing to conclude."
    if len(with_trials) < 2 or len(arms) < 2:
        a = with_trials[0]
        return (f"Only the {a.arm} arm has completed trials ({a.converged} of {a.members} seeds "
                "converged): no comparison yet.")
    first, second = arms[0], arms[1]
    primary = tests[0]
    words = [_probabilities(first, second, gap)]
    words += _primary(primary)
    words.append(f"Over every trial of the search, {first.converged} of {first.members} "
                 f"{first.arm} seeds and {second.converged} of {second.members} {second.arm} "
                 "seeds converged.")
    short, whole = _split(windows)
    words += _windows(short, whole, first_bit=all(w.task in (None, "first-bit") for w in windows))
    words += _regions(regions)
    words += _cost(first, second)
    words += _best(first, second, confirmations)
    words += _answer(first, second, primary, gap, regions)
    return " ".join(words)


def _a(word: str) -> str:
    """``word`` with its indefinite article (arms are named by users: "A", "stateful", ...)."""
    return f"{'an' if word[:1].lower() in 'aeio' else 'a'} {word}"


def _share(e: Estimate, what: str = "configuration") -> str:
    """``75 % (95 % CI 40–95 %, 20 configurations)``; says so when there is nothing to estimate."""
    if e.value is None:
        return f"unknown (no {what} drawn before any result was seen)"
    return f"{f.pct(e.value)} ({f.ci(e)}, {e.n} {what}{'s' if e.n != 1 else ''})"


def _probabilities(first: ArmSummary, second: ArmSummary, gap: Interval) -> str:
    text = (f"Over this study's space, {_a(first.arm)} configuration drawn at random and trained "
            f"from a random seed converges with an estimated probability of "
            f"{_share(first.converged_share)}, {_a(second.arm)} one with "
            f"{_share(second.converged_share)}; each n counts configurations drawn before any "
            "result was seen.")
    if gap.value is not None and gap.low is not None:
        text += (f" The difference is an estimated {f.points(gap.value)} points (95 % CI "
                 f"{f.points_range(gap.low, gap.high)}).")
    return text


def _primary(t: TestResult) -> list[str]:
    if t.p_value is None:
        return []
    how = f"exact rank test over those configurations, {f.p_value(t.p_value)}"
    if t.method != "exact":
        how += f", {t.method}"
    if t.min_attainable_p is not None and t.min_attainable_p > ALPHA:
        return [f"Too few blind configurations to tell (the smallest p this design can reach is "
                f"{f.p_plain(t.min_attainable_p)}; {how})."]
    if t.p_value < ALPHA:
        return [f"A difference this large is unlikely to be chance ({how})."]
    return [f"The difference could be chance ({how})."]


def _split(windows: tuple[WindowRow, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return (members, converged) of stateless windows shorter than the task's lag (the
    sequence, where the lag is unknown), and of windows that cover it."""
    short = [w for w in windows if not w.covers_lag]
    whole = [w for w in windows if w.covers_lag]
    return ((sum(w.members for w in short), sum(w.converged for w in short)),
            (sum(w.members for w in whole), sum(w.converged for w in whole)))


def _windows(short: tuple[int, int], whole: tuple[int, int], *, first_bit: bool) -> list[str]:
    if not first_bit:
        return lag_windows(short, whole)
    out = []
    if short[0]:
        n, conv = short
        if conv == 0:
            out.append(f"None of the {n} stateless seeds with a window shorter than the sequence "
                       "converged: only the window that starts at step 0 sees the first bit, so "
                       "their accuracy is capped by the analytic ceiling.")
        else:
            out.append(f"{conv} of {n} stateless seeds with a window shorter than the sequence "
                       "converged.")
    if whole[0]:
        n, conv = whole
        out.append(f"With the window as long as the sequence, {conv} of {n} stateless seeds "
                   "converged.")
    return out


def _regions(regions: tuple[Region, ...]) -> list[str]:
    out = []
    for arm in dict.fromkeys(r.arm for r in regions):
        mine = {r.covers_lag: r for r in regions if r.arm == arm}
        parts = [f"{_share(mine[c].converged_share)} where the window {what} the task's lag"
                 for c, what in ((False, "is shorter than"), (True, "covers"))
                 if c in mine and mine[c].converged_share.value is not None]
        if parts:
            out.append(f"{arm.capitalize()} P(converge) by region, estimated over its blind "
                       f"configurations: {' and '.join(parts)}.")
    return out


def _cost(first: ArmSummary, second: ArmSummary) -> list[str]:
    def pooled(a: ArmSummary) -> str:
        e = a.pooled_time_to_solution_s
        if e.n == 0:
            return f"unknown ({a.arm}, no blind configuration)"
        if e.value is None:
            return f"never ({a.arm}: no seed of its blind configurations converged)"
        return f"{f.num(e.value * 1e3, 'ms')} ({a.arm}{_ms_interval(e)})"

    def typical(a: ArmSummary) -> str:
        e = a.time_to_solution_s
        value = "never" if not math.isfinite(e.value) else f.num(e.value * 1e3, "ms")
        return f"{value} ({a.arm}; never in {a.never} of {e.n} trials)"

    out = [f"Time to solution (training time to one converged model, failed seeds restarted), "
           f"pooled over the seeds of the blind configurations: {pooled(first)} and "
           f"{pooled(second)}."]
    if first.time_to_solution_s.value is not None and second.time_to_solution_s.value is not None:
        out.append(f"Median per trial: {typical(first)} and {typical(second)}.")
    if first.epoch_ms.value is not None and second.epoch_ms.value is not None:
        out.append(f"{_a(first.arm).capitalize()} epoch took a median "
                   f"{f.num(first.epoch_ms.value, 'ms')}, {_a(second.arm)} one "
                   f"{f.num(second.epoch_ms.value, 'ms')}, each over its own menu of batch sizes.")
    return out


def _ms_interval(e: Estimate) -> str:
    """``, 95 % CI 2–16 ms`` for seconds; ``unbounded`` above where "never" is within it."""
    if e.low is None or e.high is None:
        return ""
    low = f.num(e.low * 1e3)
    if math.isinf(e.high):
        return ", 95 % CI unbounded" if e.low == 0 else f", 95 % CI from {low} ms, unbounded above"
    high = f.num(e.high * 1e3)
    return "" if low == high else f", 95 % CI {low}–{high} ms"


def _best(first: ArmSummary, second: ArmSummary,
          confirmations: tuple[Confirmation, ...]) -> list[str]:
    bests = [a.best for a in (first, second) if a.best is not None and a.best.converged]
    if not bests:
        return []
    b = min(bests, key=lambda b: b.time_to_solution_s)
    text = (f"Fastest to a solution in the search: {b.config} (trial {b.number}, "
            f"{b.converged_members} of {b.replicates} seeds converged, epoch "
            f"{b.convergence_epoch}, {f.num(b.time_to_solution_s * 1e3, 'ms')} of training per "
            "converged model)")
    check = next((c for c in confirmations if c.confirms == b.number), None)
    if check is None:
        return [text + "; the least of many noisy estimates, so likely optimistic, and not "
                "confirmed on fresh seeds."]
    confirmed = ("never (no seed converged)" if check.time_to_solution_s is None
                 else f.num(check.time_to_solution_s * 1e3, "ms"))
    return [text + f"; confirmed on {check.members} fresh seeds (trial {check.number}): "
            f"{confirmed}, {check.converged} of {check.members} seeds converged."]


def _answer(first: ArmSummary, second: ArmSummary, primary: TestResult, gap: Interval,
            regions: tuple[Region, ...]) -> list[str]:
    if primary.p_value is None:
        return ["In short: no test of the arms yet (no blind configuration in one of them)."]
    if primary.min_attainable_p is not None and primary.min_attainable_p > ALPHA:
        return ["In short: too few blind configurations to tell the arms apart on convergence."]
    if primary.p_value >= ALPHA:
        spread = ("" if gap.low is None else f" (the difference's 95 % CI runs from "
                  f"{f.points_range(gap.low, gap.high)} points)")
        return [f"In short: these trials do not separate the arms on convergence{spread}."]
    lead = first if (gap.value or 0.0) > 0 else second
    blind_short = next((r for r in regions if r.arm == "stateless" and not r.covers_lag), None)
    blind_whole = next((r for r in regions if r.arm == "stateless" and r.covers_lag), None)
    if (lead.arm == "stateful" and second.arm == "stateless" and blind_short is not None
            and blind_short.members and blind_short.converged == 0):
        text = ("In short: over this study's space, when the model sees only part of the "
                "sequence at a time it needs stateful=True (stateless windows shorter than the "
                f"lag: at most {f.pct(blind_short.converged_share.high)} at 95 % confidence)")
        if blind_whole is not None and blind_whole.converged:
            text += "; stateless works when one window holds the whole sequence"
        return [text + "."]
    return [f"In short: over this study's space the {lead.arm} arm converges more reliably."]
