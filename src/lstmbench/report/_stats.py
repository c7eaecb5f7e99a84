"""The intervals the report prints: a converged share over clusters of seeds, the difference of
two of them, a median, and a time to solution pooled over seeds.

A trial's K seeds share one data set and one configuration, so they are not K independent coin
flips: an arm's configurations (and a configuration's trials) are the clusters. Every share here
is a share of clusters, with an interval that never has zero width (the continuity-corrected
Wilson interval on an effective number of clusters, below) and whose coverage is measured in
simulation by ``bench/calibration.py``, also where only a rare corner of the space converges
and where every or no configuration converges (docs/statistics.md has the numbers).

Written with ``math`` and numpy, not scipy: importing ``scipy.stats`` alone takes about a second,
a third of the time ``lstmbench report`` may take. The tests check each formula against scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
N_RESAMPLES = 2000
# Above this many clusters a ratio of sums is close enough to normal that the bootstrap's guard
# against skew adds nothing to Fieller's interval, and its N_RESAMPLES x n draws cost seconds.
MAX_BOOTSTRAP_CLUSTERS = 1000
SEED = 0  # bootstrap resampling is seeded: the same study gives the same report
T95_SMALL = {1: 12.706204736174694, 2: 4.302652729749462, 3: 3.1824463052837078,
             4: 2.7764451051977934, 5: 2.5705818356363146}  # Student's t 97.5 %, df 1-5
MIN_MEDIAN_N = 6  # below, no two order statistics hold the median with 95 % confidence


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95 % interval (``low``/``high`` None: too few values) and ``n``."""

    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class Interval:
    """A difference (first arm minus second) with its 95 % interval; None: not estimable."""

    value: float | None
    low: float | None
    high: float | None


def wilson(successes: float, n: float) -> tuple[float, float]:
    """Return the Wilson score 95 % interval of ``successes / n`` (no continuity correction)."""
    z2 = Z95 * Z95
    p = successes / n
    center = (successes + z2 / 2) / (n + z2)
    half = Z95 * math.sqrt(n * p * (1 - p) + z2 / 4) / (n + z2)
    return max(0.0, center - half), min(1.0, center + half)


def wilson_cc(successes: float, n: float) -> tuple[float, float]:
    """Return the continuity-corrected Wilson 95 % interval of ``successes / n`` (Newcombe's
    method 4); ``successes`` and ``n`` may be fractional (an effective number of clusters).

    Never of zero width for ``n > 0``: at 0 of n the upper end is above 0, at n of n the lower
    end is below 1.
    """
    p, z2 = successes / n, Z95 * Z95
    low = 0.0 if p <= 0 else (2 * n * p + z2 - 1 - Z95 * math.sqrt(
        max(0.0, z2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1)))) / (2 * (n + z2))
    high = 1.0 if p >= 1 else (2 * n * p + z2 + 1 + Z95 * math.sqrt(
        max(0.0, z2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1)))) / (2 * (n + z2))
    return max(0.0, min(low, p)), min(1.0, max(high, p))


def t95(df: int) -> float:
    """Return Student's t 97.5 % quantile for ``df`` degrees of freedom (a table to 5, then
    the Cornish–Fisher expansion, within 2e-4 of the exact value there)."""
    if df in T95_SMALL:
        return T95_SMALL[df]
    z = Z95
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * df**4))


def clustered_share(clusters: Sequence[tuple[int, int]], *, pooled: bool = False,
                    alike_as_members: bool = False) -> Estimate:
    """Return the converged share of ``clusters`` ``(converged, members)`` with a 95 % interval
    that treats each cluster, not each member, as the unit drawn; ``n`` is the clusters.

    The value is the mean of the clusters' shares (each draw of a configuration weighs the same),
    or with ``pooled`` the converged members over all members (the trials of one configuration).
    The interval is the continuity-corrected Wilson interval on an effective number of clusters:
    ``share * (1 - share) / variance`` of the estimate (the variance from the spread between
    clusters, scaled by ``(z / t)**2`` for having been estimated from few of them), kept between
    the clusters and the members. Where that spread says nothing — one cluster, or every member
    converged, or none — it counts clusters (an arm's configurations: a rare converging corner may
    have gone undrawn) or, with ``alike_as_members``, members (one configuration's trials, which
    differ only in data set and seeds).
    """
    n = len(clusters)
    if n == 0:
        return Estimate(None, None, None, 0)
    members = sum(size for _, size in clusters)
    if pooled:
        value = sum(k for k, _ in clusters) / members
    else:
        value = math.fsum(k / size for k, size in clusters) / n
    n_eff = float(members if alike_as_members else n)
    if n >= 2 and 0 < value < 1:
        if pooled:
            spread = math.fsum((k - value * size) ** 2 for k, size in clusters)
            variance = n / (n - 1) * spread / members**2
        else:
            variance = math.fsum((k / size - value) ** 2 for k, size in clusters) / (n - 1) / n
        if variance > 0:
            n_eff = min(max(value * (1 - value) / variance * (Z95 / t95(n - 1)) ** 2, n), members)
        else:
            n_eff = float(members)
    low, high = wilson_cc(value * n_eff, n_eff)
    return Estimate(value, low, high, n)


def difference(a: Estimate, b: Estimate) -> Interval:
    """Return ``a - b`` with Newcombe's hybrid score 95 % interval, built from the two shares'
    own intervals (so it inherits their continuity correction and never has zero width)."""
    if a.value is None or b.value is None or a.low is None or b.low is None:
        return Interval(None if a.value is None or b.value is None else a.value - b.value,
                        None, None)
    d = a.value - b.value
    low = d - math.hypot(a.value - a.low, b.high - b.value)
    high = d + math.hypot(a.high - a.value, b.value - b.low)
    return Interval(d, max(-1.0, low), min(1.0, high))


def median(values: Sequence[float | None]) -> Estimate:
    """Return the median of ``values`` (``inf`` counts: "never" is a value) with its
    distribution-free 95 % interval between two order statistics (none below 6 values)."""
    data = sorted(float(v) for v in values if v is not None and not math.isnan(v))
    n = len(data)
    if n == 0:
        return Estimate(None, None, None, 0)
    mid = data[(n - 1) // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2
    if math.isnan(mid):  # the mean of two infinities is inf; of inf and a finite value, inf
        mid = math.inf
    if n < MIN_MEDIAN_N:
        return Estimate(mid, None, None, n)
    # The largest k with P(Binomial(n, 1/2) < k) <= 2.5 %: [x_(k), x_(n+1-k)] holds the median
    # with at least 95 % probability for any continuous distribution. The binomial terms in
    # logarithms: exact integers of n bits cost seconds once n reaches thousands of trials.
    below, k = 0.0, 0
    log_all = n * math.log(2)
    while True:
        below += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - log_all)
        if below > (1 - CONFIDENCE) / 2:
            break
        k += 1
    return Estimate(mid, data[max(k - 1, 0)], data[n - max(k, 1)], n)


def pooled_ratio(totals: Sequence[float], counts: Sequence[int]) -> Estimate:
    """Return ``sum(totals) / sum(counts)`` over clusters with a 95 % interval; ``n`` is the
    clusters, and the value is None when no cluster counts anything.

    The interval is the union of two that fail in different places: a studentized bootstrap over
    the clusters (seeded; good where a few slow configurations skew the totals) and Fieller's
    interval for a ratio of means (good where few clusters count anything: it becomes unbounded,
    ``high`` = ``inf``, where the counts' mean cannot be told from zero, so "never" is within).
    """
    n = len(totals)
    if n == 0 or sum(counts) == 0:
        return Estimate(None, None, None, n)
    value = math.fsum(totals) / sum(counts)
    if n < 2:
        return Estimate(value, None, None, n)
    low_f, high_f = _fieller(totals, counts)
    if n > MAX_BOOTSTRAP_CLUSTERS:  # the ratio is near normal: Fieller's interval alone
        return Estimate(value, max(0.0, min(low_f, value)), max(high_f, value), n)
    low_b, high_b = _studentized(totals, counts, value)
    return Estimate(value, max(0.0, min(low_f, low_b, value)), max(high_f, high_b, value), n)


def _fieller(totals: Sequence[float], counts: Sequence[int]) -> tuple[float, float]:
    """Fieller's 95 % interval for mean(totals) / mean(counts), Student's t on n - 1 df."""
    n = len(totals)
    t_mean, c_mean = math.fsum(totals) / n, sum(counts) / n
    s_tt = math.fsum((t - t_mean) ** 2 for t in totals) / (n - 1) / n
    s_cc = math.fsum((c - c_mean) ** 2 for c in counts) / (n - 1) / n
    s_tc = math.fsum((t - t_mean) * (c - c_mean) for t, c in zip(totals, counts)) / (n - 1) / n
    q = t95(n - 1) ** 2
    # (t_mean - R c_mean)^2 <= q Var(t_mean - R c_mean), i.e. a R^2 + b R + c <= 0
    a = c_mean**2 - q * s_cc
    b = -2 * (t_mean * c_mean - q * s_tc)
    c = t_mean**2 - q * s_tt
    disc = b * b - 4 * a * c
    if a <= 0 or disc < 0:
        return 0.0, math.inf
    root = math.sqrt(disc)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def _studentized(totals: Sequence[float], counts: Sequence[int], value: float) -> tuple[float, float]:
    """The studentized (bootstrap-t) 95 % interval of the ratio of sums, resampling clusters; the
    standard error of each ratio from its residuals (the delta method)."""
    import numpy as np

    t = np.asarray(totals, dtype=float)
    c = np.asarray(counts, dtype=float)
    n = len(t)

    def ratio_se(tm: np.ndarray, cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = tm.sum(axis=-1) / cm.sum(axis=-1)
        spread = ((tm - r[..., None] * cm) ** 2).sum(axis=-1) * n / (n - 1)
        return r, np.sqrt(spread) / cm.sum(axis=-1)

    _, se = ratio_se(t, c)
    picks = np.random.default_rng(SEED).integers(0, n, (N_RESAMPLES, n))
    tb, cb = t[picks], c[picks]
    some = cb.sum(axis=1) > 0
    r, s = ratio_se(tb[some], cb[some])
    with np.errstate(divide="ignore", invalid="ignore"):
        studentized = (r - value) / s
    studentized = studentized[np.isfinite(studentized)]
    if studentized.size == 0 or se == 0:
        return value, value
    alpha = (1 - CONFIDENCE) / 2
    q_low, q_high = np.quantile(studentized, [alpha, 1 - alpha])
    return float(value - q_high * se), float(value - q_low * se)
