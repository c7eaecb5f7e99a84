"""The verdict: one paragraph of plain words that says what the numbers of a study show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lstmbench.report import _format as f

if TYPE_CHECKING:
    from lstmbench.report._stats import TestResult
    from lstmbench.report._summary import ArmSummary, WindowRow

FEW = 5  # completed trials per arm below which the verdict warns that it is only indicative
ALPHA = 0.05


def verdict_text(by: dict[str, ArmSummary], tests: tuple[TestResult, ...],
                 windows: tuple[WindowRow, ...]) -> str:
    """Return the verdict paragraph for the arms of a study and its stateless windows."""
    sf, sl = by.get("stateful"), by.get("stateless")
    with_trials = [a for a in by.values() if a.complete]
    if not with_trials:
        return "No completed trials yet: nothing to conclude."
    if sf is None or sl is None or not sf.complete or not sl.complete:
        a = with_trials[0]
        return (f"Only the {a.arm} arm has completed trials ({a.converged} of {a.complete} "
                "converged): no comparison yet.")
    words = [
        f"Stateful LSTMs converged in {_conv(sf)} and stateless ones in {_conv(sl)}."
    ]
    fisher = tests[0]
    if fisher.p_value is not None:
        chance = ("a difference this large is unlikely to be chance" if fisher.p_value < ALPHA
                  else "with these sample sizes the difference could be chance")
        words.append(f"{chance.capitalize()} (Fisher's exact test, {f.p_value(fisher.p_value)}).")
    short, whole = _split(windows)
    words += _windows(short, whole)
    words += _cost(sf, sl, tests)
    words += _answer(sf, sl, fisher, short)
    few = [a for a in (sf, sl) if a.complete < FEW]
    if few:
        words.append("Few trials (" + ", ".join(f"{a.arm} {a.complete}" for a in few)
                     + "): read these numbers as indicative only.")
    return " ".join(words)


def _conv(a: ArmSummary) -> str:
    e = a.converged_share
    return (f"{a.converged} of {a.complete} trials ({f.pct(e.value)}, 95 % CI "
            f"{100 * e.low:.0f}–{100 * e.high:.0f} %)")


def _split(windows: tuple[WindowRow, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return (trials, converged) of stateless windows shorter than the sequence, and of whole ones."""
    short = [w for w in windows if w.window < w.seq_len]
    whole = [w for w in windows if w.window >= w.seq_len]
    return ((sum(w.trials for w in short), sum(w.converged for w in short)),
            (sum(w.trials for w in whole), sum(w.converged for w in whole)))


def _windows(short: tuple[int, int], whole: tuple[int, int]) -> list[str]:
    out = []
    if short[0]:
        n, conv = short
        if conv == 0:
            out.append(f"None of the {n} stateless trials with a window shorter than the "
                       "sequence converged: only the window that starts at step 0 sees the first "
                       "bit, so their accuracy is capped by the analytic ceiling.")
        else:
            out.append(f"{conv} of {n} stateless trials with a window shorter than the "
                       "sequence converged.")
    if whole[0]:
        n, conv = whole
        out.append(f"With the window as long as the sequence, {conv} of {n} stateless "
                   "trials converged.")
    return out


def _cost(sf: ArmSummary, sl: ArmSummary, tests: tuple[TestResult, ...]) -> list[str]:
    out = []
    a, b = sf.train_ms_to_converge, sl.train_ms_to_converge
    if a.value is not None and b.value is not None:
        mw = tests[1]
        test = "" if mw.p_value is None else f"; Mann–Whitney U test, {f.p_value(mw.p_value)}"
        out.append(f"Converged trials trained for a median {f.num(a.value, 'ms')} (stateful, "
                   f"n = {a.n}) and {f.num(b.value, 'ms')} (stateless, n = {b.n}) before reaching "
                   f"the target{test}.")
    if sf.epoch_ms.value is not None and sl.epoch_ms.value is not None:
        out.append(f"A stateful epoch took a median {f.num(sf.epoch_ms.value, 'ms')}, a stateless "
                   f"one {f.num(sl.epoch_ms.value, 'ms')}.")
    return out


def _answer(sf: ArmSummary, sl: ArmSummary, fisher: TestResult,
            short: tuple[int, int]) -> list[str]:
    bests = [a.best for a in (sf, sl) if a.best is not None and a.best.converged]
    out = []
    if bests:
        b = min(bests, key=lambda b: b.train_ms)
        out.append(f"Fastest to converge: {b.config} (trial {b.number}, epoch "
                   f"{b.convergence_epoch}, {f.num(b.train_ms, 'ms')} of training).")
    short_conv = short[1] > 0
    significant = fisher.p_value is not None and fisher.p_value < ALPHA
    if significant and sf.converged_share.value > sl.converged_share.value and not short_conv:
        out.append("In short: when the model sees only part of the sequence at a time it needs "
                   "stateful=True; stateless works only when one window holds the whole sequence.")
    elif significant:
        lead = sf if sf.converged_share.value > sl.converged_share.value else sl
        out.append(f"In short: the {lead.arm} arm converges more reliably on this study.")
    else:
        out.append("In short: these trials do not separate the arms on convergence.")
    return out
