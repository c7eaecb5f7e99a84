"""The verdict: one paragraph of plain words that says what the numbers of a study show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lstmbench.report import _format as f
from lstmbench.report._task import lag_windows

if TYPE_CHECKING:
    from lstmbench.report._groups import WindowRow
    from lstmbench.report._stats import TestResult
    from lstmbench.report._summary import ArmSummary

FEW = 5  # configurations chosen blind per arm below which the verdict warns
ALPHA = 0.05


def verdict_text(arms: tuple[ArmSummary, ...], tests: tuple[TestResult, ...],
                 windows: tuple[WindowRow, ...]) -> str:
    """Return the verdict paragraph for the arms of a study (the first two are compared)."""
    with_trials = [a for a in arms if a.complete]
    if not with_trials:
        return "No completed trials yet: nothing to conclude."
    if len(with_trials) < 2 or len(arms) < 2:
        a = with_trials[0]
        return (f"Only the {a.arm} arm has completed trials ({a.converged} of {a.members} seeds "
                "converged): no comparison yet.")
    first, second = arms[0], arms[1]
    words = [f"Drawn at random and trained from a random seed, {_a(first.arm)} configuration "
             f"converged with probability {_prob(first)} and {_a(second.arm)} one with "
             f"{_prob(second)}."]
    primary = tests[0]
    if primary.p_adjusted is not None:
        chance = ("a difference this large is unlikely to be chance"
                  if primary.p_adjusted < ALPHA else "the difference could be chance")
        words.append(f"{chance.capitalize()} ({primary.name} over those configurations, "
                     f"{f.p_value(primary.p_adjusted)}, Holm-adjusted for {len(tests)} tests).")
    words.append(f"Over every trial, {first.converged} of {first.members} {first.arm} seeds and "
                 f"{second.converged} of {second.members} {second.arm} seeds converged.")
    short, whole = _split(windows)
    words += _windows(short, whole, first_bit=all(w.task in (None, "first-bit") for w in windows))
    words += _cost(first, second)
    words += _answer(first, second, primary, short)
    few = [a for a in (first, second) if a.converged_share.n < FEW]
    if few:
        words.append("Few configurations chosen blind (" + ", ".join(
            f"{a.arm} {a.converged_share.n}" for a in few) + "): read these numbers as indicative "
            "only.")
    return " ".join(words)


def _a(word: str) -> str:
    """``word`` with its indefinite article (arms are named by users: "A", "stateful", ...)."""
    return f"{'an' if word[:1].lower() in 'aeio' else 'a'} {word}"


def _prob(a: ArmSummary) -> str:
    e = a.converged_share
    if e.value is None:
        return "unknown (no configuration of this arm was chosen before any result was seen)"
    interval = "" if e.low is None else f"95 % CI {100 * e.low:.0f}–{100 * e.high:.0f} %, "
    return (f"{f.pct(e.value)} ({interval}{e.n} configuration{'s' if e.n != 1 else ''} chosen "
            "before any result)")


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


def _cost(first: ArmSummary, second: ArmSummary) -> list[str]:
    out = []
    a, b = first.time_to_solution_s, second.time_to_solution_s
    if a.value is not None and b.value is not None:
        out.append(f"The expected training time to one converged model (time to solution, failed "
                   f"seeds restarted) had a median of {f.num(a.value * 1e3, 'ms')} ({first.arm}, "
                   f"n = {a.n}) and {f.num(b.value * 1e3, 'ms')} ({second.arm}, n = {b.n}).")
    if first.epoch_ms.value is not None and second.epoch_ms.value is not None:
        out.append(f"{_a(first.arm).capitalize()} epoch took a median "
                   f"{f.num(first.epoch_ms.value, 'ms')}, {_a(second.arm)} one "
                   f"{f.num(second.epoch_ms.value, 'ms')}.")
    return out


def _answer(first: ArmSummary, second: ArmSummary, primary: TestResult,
            short: tuple[int, int]) -> list[str]:
    bests = [a.best for a in (first, second) if a.best is not None and a.best.converged]
    out = []
    if bests:
        b = min(bests, key=lambda b: b.time_to_solution_s)
        out.append(f"Fastest to a solution: {b.config} (trial {b.number}, {b.converged_members} "
                   f"of {b.replicates} seeds converged, epoch {b.convergence_epoch}, "
                   f"{f.num(b.time_to_solution_s * 1e3, 'ms')} of training per converged model).")
    significant = primary.p_adjusted is not None and primary.p_adjusted < ALPHA
    lead = max((first, second), key=lambda a: a.converged_share.value or 0.0)
    if significant and lead.arm == "stateful" and second.arm == "stateless" and short[1] == 0:
        out.append("In short: when the model sees only part of the sequence at a time it needs "
                   "stateful=True; stateless works only when one window holds the whole sequence.")
    elif significant:
        out.append(f"In short: the {lead.arm} arm converges more reliably on this study.")
    else:
        out.append("In short: these trials do not separate the arms on convergence.")
    return out
