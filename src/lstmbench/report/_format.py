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


def num(x: float | None, unit: str = "", digits: int = 3) -> str:
    """Return ``x`` with ``digits`` significant digits (``1.23 s``); a dash for None."""
    if x is None:
        return DASH
    text = f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"
    return f"{text} {unit}".rstrip()


def estimate(e: Estimate, unit: str = "", digits: int = 3) -> str:
    """Return ``1.2 s [0.9–1.5]`` (value and 95 % interval), or ``1.2 s`` when there is no interval."""
    if e.value is None:
        return DASH
    text = num(e.value, unit, digits)
    if e.low is None or e.high is None:
        return text
    return f"{text} [{num(e.low, '', digits)}–{num(e.high, '', digits)}]"


def share(e: Estimate, converged: int) -> str:
    """Return ``9/10 = 90 % [60–98 %]`` for a converged share with its interval."""
    if e.value is None:
        return DASH
    return f"{converged}/{e.n} = {pct(e.value)} [{100 * e.low:.0f}–{100 * e.high:.0f} %]"


def accuracy(x: float | None) -> str:
    return DASH if x is None else f"{x:.3f}"
