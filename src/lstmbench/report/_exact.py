"""Exact two-arm rank tests at the sizes sweeps produce, and the order in which they are read.

The test of one measure (a value per configuration drawn blind) is the permutation test of the
rank sum (Wilcoxon–Mann–Whitney), conditional on the observed ties: under the null hypothesis
that the arms' configurations come from one distribution, every split of the pooled values into
groups of the arms' sizes is equally likely. Its distribution is counted exactly, tie group by
tie group (a share of 4 seeds takes 5 values, so this is a handful of steps), and where the
count would be too large — hundreds of configurations of distinct values — estimated from
``N_PERMUTATIONS`` seeded random splits, with the Monte-Carlo standard error reported beside it.
A test may be stratified (epoch times compared only at equal batch sizes): values are ranked
within each stratum and the strata's rank sums added.

Several tests on one study are read as a fixed sequence: the primary test at the full 5 %, each
later one only where every earlier one rejected; the adjusted p of test j is the largest p of
tests 1..j. The family's chance of any false alarm stays at 5 % and the primary test — the
question the study asks — keeps its whole level (with Holm's adjustment it would have a third
of it at worst, and five configurations per arm could not reach it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MAX_CELLS = 20_000_000  # exact beyond this many table cells (~0.1 s here): Monte-Carlo instead
N_PERMUTATIONS = 20_000
MAX_DRAWS = 10_000_000  # values one Monte-Carlo test splits at most (~0.1 s here)
CHUNK = 100_000  # ranks (or tie-group counts) drawn at a time: they stay in the cache
HYPERGEOMETRIC_BELOW = 10  # draw tie-group counts when values outnumber groups 10 to 1
MIN_PERMUTATIONS = 1_000
SEED = 0


@dataclass(frozen=True)
class TestResult:
    """A two-arm test: what was compared, the p-value (None: not enough data) and the sizes."""

    name: str  # e.g. "exact rank test"
    measure: str  # e.g. "converged share per configuration"
    p_value: float | None
    n_a: int
    n_b: int
    effect: str  # e.g. "P(first < second) = 0.10"; or why there is no p-value
    assumes: str = ""  # what the test takes for granted, in one sentence
    p_adjusted: float | None = None  # fixed-sequence adjusted (None: no p-value or gate closed)
    min_attainable_p: float | None = None  # the smallest p these sizes allow, whatever the values
    method: str = ""  # "exact" or "Monte-Carlo, 20,000 splits, ± 0.002 (standard error)"


def rank_test(a: Sequence[float], b: Sequence[float], measure: str,
              strata_a: Sequence[object] | None = None,
              strata_b: Sequence[object] | None = None) -> TestResult:
    """Return the two-sided exact rank test of ``a`` against ``b`` (stratified when strata are
    given: only values of equal stratum are compared)."""
    name = "exact rank test"
    sa = list(strata_a) if strata_a is not None else [None] * len(a)
    sb = list(strata_b) if strata_b is not None else [None] * len(b)
    groups: dict[object, tuple[list[float], list[float]]] = {}
    for v, s in zip(a, sa):
        groups.setdefault(s, ([], []))[0].append(float(v))
    for v, s in zip(b, sb):
        groups.setdefault(s, ([], []))[1].append(float(v))
    pairs = [(x, y) for x, y in groups.values() if x and y]
    n_a, n_b = sum(len(x) for x, _ in pairs), sum(len(y) for _, y in pairs)
    if not pairs:
        return TestResult(name, measure, None, len(a), len(b), "needs a configuration in each arm")
    p, error = permutation_p(pairs)
    below = sum(_below(x, y) for x, y in pairs) / sum(len(x) * len(y) for x, y in pairs)
    method = "exact" if error is None else (
        f"Monte-Carlo, {monte_carlo_splits(pairs):,} splits, ± {error:.2g} (standard error)")
    return TestResult(name, measure, p, n_a, n_b, f"P(first < second) = {below:.2f}",
                      min_attainable_p=min_attainable_p([(len(x), len(y)) for x, y in pairs]),
                      method=method)


def min_attainable_p(sizes: Sequence[tuple[int, int]]) -> float:
    """Return the smallest two-sided p a rank test of strata of ``sizes`` (n_a, n_b) can give,
    whatever the values: the most extreme split over all splits. Arms of equal size in every
    stratum have two equally extreme splits (all lowest, all highest); otherwise ties can leave
    one (six configurations at 1 against five at 0: 1 of C(11, 6))."""
    splits = math.prod(math.comb(x + y, x) for x, y in sizes)
    extremes = 2 if all(x == y for x, y in sizes) else 1
    return min(1.0, extremes / splits)


def fixed_sequence(p_values: Sequence[float | None]) -> list[float | None]:
    """Return fixed-sequence adjusted p-values: the largest p so far; None after a missing one."""
    out: list[float | None] = []
    running: float | None = 0.0
    for p in p_values:
        running = None if running is None or p is None else max(running, p)
        out.append(running)
    return out


def permutation_p(pairs: Sequence[tuple[Sequence[float], Sequence[float]]]) -> tuple[float, float | None]:
    """Return (two-sided p, Monte-Carlo standard error or None when exact) of the first samples'
    centred rank sums added over ``pairs``, one pair per stratum."""
    import numpy as np

    strata = [_stratum(x, y) for x, y in pairs]
    observed = sum(centred for _, centred in strata)
    cells = 0
    for x, y in pairs:
        m, n = min(len(x), len(y)), len(x) + len(y)
        cells += n * (m + 1) * (2 * m * n + 1)
    if cells > MAX_CELLS:
        return _monte_carlo(pairs, strata, observed)
    total = np.ones(1)
    for (x, y), (groups, _) in zip(pairs, strata):
        total = np.convolve(total, _centred_distribution(groups, len(x), len(y)))
    stat = np.arange(len(total)) - (len(total) - 1) // 2
    extreme = np.abs(stat) >= abs(observed)
    return min(1.0, float(total[extreme].sum() / total.sum())), None


def _stratum(x: Sequence[float], y: Sequence[float]) -> tuple[list[tuple[int, int]], int]:
    """Return (tie groups as (size, doubled mid-rank), the first sample's observed centred
    doubled rank sum) of one stratum."""
    counts = Counter([*x, *y])
    groups, start = [], 0
    rank2 = {}
    for value in sorted(counts):
        t = counts[value]
        rank2[value] = 2 * start + t + 1  # twice the mid-rank of ranks start+1 .. start+t
        groups.append((t, rank2[value]))
        start += t
    n = len(x) + len(y)
    return groups, sum(rank2[v] for v in x) - len(x) * (n + 1)


def _centred_distribution(groups: list[tuple[int, int]], n_x: int, n_y: int) -> np.ndarray:
    """Return how many splits give each centred doubled rank sum of the first sample, from
    ``-n_x * n_y`` to ``n_x * n_y``: tie groups are taken one at a time, c values of a group of t
    in C(t, c) ways, each adding c times the group's doubled mid-rank. Counted for the smaller
    sample (the other's centred sum is its negative)."""
    import numpy as np

    m, n = min(n_x, n_y), n_x + n_y
    width = m * (2 * n - m + 1) + 1  # doubled rank sums 0 .. the largest m values can have
    table = np.zeros((m + 1, width))
    table[0, 0] = 1.0
    for t, r2 in groups:
        new = table.copy()  # c = 0
        for c in range(1, min(t, m) + 1):
            shift = c * r2
            if shift >= width:
                break
            new[c:, shift:] += math.comb(t, c) * table[: m + 1 - c, : width - shift]
        table = new
    dist = table[m, m * (m + 1): width]  # doubled sums from m(m+1) up: centred -m(n-m) up
    return dist if m == n_x else dist[::-1]


def _monte_carlo(pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
                 strata: Sequence[tuple[list[tuple[int, int]], int]],
                 observed: int) -> tuple[float, float]:
    """The permutation p from seeded random splits within each stratum, and its standard error.

    A split's rank sum depends only on how many values of each tie group the first sample
    takes. Few tie groups (a share of 4 seeds has 5 values): those counts are drawn at once,
    multivariate hypergeometric, a few operations a split. Many: the ranks are shuffled, a
    block of ``CHUNK`` ranks at a time, the first ``len(x)`` the first sample's.
    """
    import numpy as np

    rng = np.random.default_rng(SEED)
    splits = monte_carlo_splits(pairs)
    stats = np.zeros(splits)
    for (x, y), (groups, _) in zip(pairs, strata):
        sizes = np.array([t for t, _ in groups], dtype=np.int64)
        rank2 = np.array([r for _, r in groups], dtype=np.int64)  # doubled mid-ranks
        n, k = len(x) + len(y), len(x)
        few = len(groups) * HYPERGEOMETRIC_BELOW <= n
        rows = max(1, min(splits, CHUNK // (len(groups) if few else n)))
        ranks = None if few else np.repeat(rank2, sizes)  # every value's rank, for shuffling
        for start in range(0, splits, rows):
            m = min(rows, splits - start)
            if ranks is None:
                sums = rng.multivariate_hypergeometric(sizes, k, size=m) @ rank2
            else:
                block = np.tile(ranks, (m, 1))
                rng.permuted(block, axis=1, out=block)
                sums = block[:, :k].sum(axis=1)
            stats[start: start + m] += sums - k * (n + 1)
    hits = int((np.abs(stats) >= abs(observed)).sum())
    p = (hits + 1) / (splits + 1)
    return p, math.sqrt(p * (1 - p) / splits)


def monte_carlo_splits(pairs: Sequence[tuple[Sequence[float], Sequence[float]]]) -> int:
    """Return the random splits a Monte-Carlo test draws: ``N_PERMUTATIONS``, fewer where the
    configurations are so many that they would cost seconds (``MAX_DRAWS`` values split in all;
    never fewer than ``MIN_PERMUTATIONS``). The standard error printed beside p says what that
    costs in precision."""
    values = sum(len(x) + len(y) for x, y in pairs)
    return max(MIN_PERMUTATIONS, min(N_PERMUTATIONS, MAX_DRAWS // max(values, 1)))


def _below(x: Sequence[float], y: Sequence[float]) -> float:
    """How many (x, y) pairs have x < y, ties counting half."""
    import numpy as np

    ys = np.sort(np.asarray(y, dtype=float))
    xs = np.asarray(x, dtype=float)
    above = len(ys) - np.searchsorted(ys, xs, side="right")  # the y's greater than each x
    ties = np.searchsorted(ys, xs, side="right") - np.searchsorted(ys, xs, side="left")
    return float(above.sum() + 0.5 * ties.sum())
