"""The few statistics the report needs: intervals for a share, a mean and a median, two-arm
tests, and Holm's adjustment for testing several measures of one study.

Written with ``math`` and numpy, not scipy: importing ``scipy.stats`` alone takes about a second,
a third of the time ``lstmbench report`` may take. Each function follows scipy's definition
(``binomtest(...).proportion_ci(method="wilson")``, ``mannwhitneyu`` with ``method="auto"``, a
percentile bootstrap) or statsmodels' (``multipletests(method="holm")``); tests check them.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
N_RESAMPLES = 2000
SEED = 0  # bootstrap resampling is seeded: the same study gives the same report


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95 % interval (``low``/``high`` None: too few values) and ``n``."""

    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class TestResult:
    """A two-arm test: what was compared, the p-value (None: not enough data) and the sizes."""

    name: str  # e.g. "Mann–Whitney U"
    measure: str  # e.g. "converged share per configuration"
    p_value: float | None
    n_a: int
    n_b: int
    effect: str  # e.g. "P(first < second) = 0.10"; or why there is no p-value
    assumes: str = ""  # what the test takes for granted, in one sentence
    p_adjusted: float | None = None  # Holm-adjusted over the report's tests (None: no p-value)


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Return the Wilson score 95 % interval of ``successes / n`` (no continuity correction)."""
    z2 = Z95 * Z95
    center = (successes + z2 / 2) / (n + z2)
    half = Z95 * math.sqrt(successes * (n - successes) / n + z2 / 4) / (n + z2)
    return max(0.0, center - half), min(1.0, center + half)


def share(successes: int, n: int) -> Estimate:
    """Return the share ``successes / n`` with its Wilson 95 % interval (None when ``n`` is 0)."""
    if n == 0:
        return Estimate(None, None, None, 0)
    low, high = wilson(successes, n)
    return Estimate(successes / n, low, high, n)


def mean_share(shares: Sequence[float]) -> Estimate:
    """Return the mean of per-configuration shares with a seeded percentile-bootstrap 95 %
    interval over the configurations (none below 2 of them)."""
    return _bootstrapped([float(v) for v in shares], "mean")


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Return Holm's step-down adjusted p-values (family-wise error), None where there is none."""
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


def median(values: Sequence[float | None]) -> Estimate:
    """Return the median with a seeded percentile-bootstrap 95 % interval (none below 2 values)."""
    return _bootstrapped([float(v) for v in values if v is not None and math.isfinite(v)], "median")


def _bootstrapped(values: list[float], statistic: str) -> Estimate:
    """The median or mean of ``values`` with its seeded percentile-bootstrap 95 % interval."""
    if not values:
        return Estimate(None, None, None, 0)
    mid = statistics.median(values) if statistic == "median" else statistics.fmean(values)
    if len(values) < 2:
        return Estimate(mid, None, None, 1)
    import numpy as np

    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(SEED)
    resampled = data[rng.integers(0, len(data), (N_RESAMPLES, len(data)))]
    stats = np.median(resampled, axis=1) if statistic == "median" else resampled.mean(axis=1)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return Estimate(mid, float(low), float(high), len(values))


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Return (U of ``x``, two-sided p) as ``scipy.stats.mannwhitneyu(method="auto")`` does:
    the exact distribution when a sample has at most 8 values and there are no ties, else the
    normal approximation with tie and continuity corrections."""
    n1, n2 = len(x), len(y)
    pooled = sorted([*x, *y])
    ranks: dict[float, float] = {}
    i = 0
    while i < len(pooled):  # mid-ranks of tied values
        j = i
        while j + 1 < len(pooled) and pooled[j + 1] == pooled[i]:
            j += 1
        ranks[pooled[i]] = (i + j) / 2 + 1
        i = j + 1
    u1 = sum(ranks[v] for v in x) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    ties = [t for t in Counter(pooled).values() if t > 1]
    if (n1 <= 8 or n2 <= 8) and not ties:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        p = sum(counts[math.ceil(u):]) / sum(counts)
    else:
        n = n1 + n2
        s = math.sqrt(n1 * n2 / 12 * ((n + 1) - sum(t**3 - t for t in ties) / (n * (n - 1))))
        p = 0.5 * math.erfc((u - n1 * n2 / 2 - 0.5) / s / math.sqrt(2)) if s > 0 else 0.5
    return u1, min(1.0, 2 * p)


def _u_counts(m: int, n: int) -> list[int]:
    """Return how many arrangements of m + n distinct values give U = 0, 1, ..., m*n: the
    coefficients of the Gaussian binomial [m+n choose m](q) = prod (1 - q^(n+i)) / (1 - q^i)."""
    size = m * n + 1
    poly = [1] + [0] * (size - 1)
    for i in range(1, m + 1):
        k = n + i  # multiply by (1 - q^k), then divide by (1 - q^i)
        for idx in range(size - 1, k - 1, -1):
            poly[idx] -= poly[idx - k]
        for idx in range(i, size):
            poly[idx] += poly[idx - i]
    return poly


def mann_whitney(a: Sequence[float], b: Sequence[float], measure: str) -> TestResult:
    """Return the two-sided Mann–Whitney U test of ``a`` against ``b`` (needs 2 values in each)."""
    name = "Mann–Whitney U"
    if len(a) < 2 or len(b) < 2:
        return TestResult(name, measure, None, len(a), len(b), "needs 2 trials per arm")
    u1, p = mann_whitney_p(a, b)
    # The common-language effect size: how often a value of the first arm is below one of the
    # second (ties count half).
    return TestResult(name, measure, p, len(a), len(b),
                      f"P(first < second) = {1 - u1 / (len(a) * len(b)):.2f}")
