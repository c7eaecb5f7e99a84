"""Numbers as the report writes them, the same in every renderer."""

from __future__ import annotations

from lstmbench.report._stats import Estimate

DASH = "—"


def pct(x: float | None) -> str:
    """Return ``0.955`` as ``96 %`` (a dash for None)."""
    return DASH if x is None else f"{100 * x:.0f} %"


def p_value(p: float | None) -> str:
    """Return ``p = 0.012``, ``p < 0.0001``; a dash when there is no test."""
    if p is None:
        return DASH
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"


def p_plain(p: float) -> str:
    """Return a p-value's number alone, two significant digits (``0.029``)."""
    return f"{p:.2g}"


def points(x: float) -> str:
    """Return a difference of two shares in percentage points (``-0.2`` as ``−20``)."""
    text = f"{100 * x:.0f}"
    return "0" if text == "-0" else text.replace("-", "−")


def points_range(low: float, high: float) -> str:
    """Return ``−32 to 88`` (percentage points); with decimals where whole points would meet."""
    for digits in (0, 1, 2, 3):
        a, b = (f"{100 * v:.{digits}f}" for v in (low, high))
        a, b = (("0" if float(x) == 0 else x).replace("-", "−") for x in (a, b))
        if a != b:
            break
    return f"{a} to {b}"


def pct_range(low: float, high: float) -> str:
    """Return ``40–95 %``; with a decimal or two where whole percents would make the ends meet
    (a zero-width interval is never printed)."""
    for digits in (0, 1, 2):
        a, b = f"{100 * low:.{digits}f}", f"{100 * high:.{digits}f}"
        if a != b:
            break
    return f"{a}–{b} %"


def ci(e: Estimate) -> str:
    """Return ``95 % CI 40–95 %`` for a share's interval."""
    return f"95 % CI {pct_range(e.low, e.high)}"


def num(x: float | None, unit: str = "", digits: int = 3) -> str:
    """Return ``x`` with ``digits`` significant digits (``1.23 s``); a dash for None, ∞ for inf."""
    if x is None:
        return DASH
    if x == float("inf"):
        return "∞"
    text = f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"
    return f"{text} {unit}".rstrip()


def estimate(e: Estimate, unit: str = "", digits: int = 3) -> str:
    """Return ``1.2 s [0.9–1.5]`` (value and 95 % interval), or ``1.2 s`` when there is no
    interval or its ends coincide (tied values: a zero-width interval is never printed)."""
    if e.value is None:
        return DASH
    text = num(e.value, unit, digits)
    if e.low is None or e.high is None or num(e.low, "", digits) == num(e.high, "", digits):
        return text
    return f"{text} [{num(e.low, '', digits)}–{num(e.high, '', digits)}]"


def share(e: Estimate, converged: int, members: int) -> str:
    """Return ``9/10 = 90 % [60–98 %]`` for a converged share with its interval."""
    if e.value is None:
        return DASH
    return f"{converged}/{members} = {pct(e.value)} [{pct_range(e.low, e.high)}]"


def accuracy(x: float | None) -> str:
    return DASH if x is None else f"{x:.3f}"
