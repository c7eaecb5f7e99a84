"""The report's statistics: each formula against scipy or a complete enumeration, the intervals'
promises (never zero width, clusters not seeds), and a small calibration by simulation."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from lstmbench.report import _exact
from lstmbench.report._exact import fixed_sequence, min_attainable_p, permutation_p, rank_test
from lstmbench.report._stats import (
    Estimate,
    clustered_share,
    difference,
    median,
    pooled_ratio,
    t95,
    wilson,
    wilson_cc,
)

# -- intervals for a share --------------------------------------------------------------------

def test_wilson_agrees_with_scipy():
    st = pytest.importorskip("scipy.stats")
    for n in range(1, 30):
        for k in range(n + 1):
            ci = st.binomtest(k, n).proportion_ci(method="wilson")
            assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_continuity_corrected_wilson_and_newcombes_difference_match_the_published_examples():
    # Newcombe's worked examples (single proportion, method 4; difference, method 11).
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_cc(81, 263) == pytest.approx((0.2535, 0.3682), abs=1e-4)
    assert wilson_cc(15, 148) == pytest.approx((0.0598, 0.1644), abs=1e-4)
    assert wilson_cc(0, 20) == pytest.approx((0.0, 0.2005), abs=1e-4)
    assert wilson_cc(1, 29) == pytest.approx((0.0018, 0.1963), abs=1e-4)
    a = Estimate(56 / 70, *wilson_cc(56, 70), 70)
    b = Estimate(48 / 80, *wilson_cc(48, 80), 80)
    d = difference(a, b)
    assert (d.value, d.low, d.high) == pytest.approx((0.2, 0.0428, 0.3422), abs=1e-4)


def test_t_quantile_agrees_with_scipy():
    st = pytest.importorskip("scipy.stats")
    for df in range(1, 200):
        assert t95(df) == pytest.approx(st.t.ppf(0.975, df), abs=2e-4)


def test_clustered_share_never_has_zero_width():
    for n in range(1, 61):
        for k in (0, 4):  # every configuration failed, or every one converged
            e = clustered_share([(k, 4)] * n)
            assert e.low < e.high and e.low <= e.value <= e.high and e.n == n
        d = difference(clustered_share([(4, 4)] * n), clustered_share([(0, 4)] * n))
        assert d.low < d.value == 1.0 and d.high == 1.0
        same = difference(clustered_share([(0, 4)] * n), clustered_share([(0, 4)] * n))
        assert same.low < 0 == same.value < same.high


def test_clustered_share_counts_configurations_not_seeds():
    # Five configurations always converge, five never: ten draws, not forty coin flips.
    e = clustered_share([(4, 4)] * 5 + [(0, 4)] * 5)
    assert e.value == 0.5 and (e.low, e.high) == pytest.approx(wilson_cc(5, 10))
    # Every configuration converges for half its seeds: the spread between them is nil, and the
    # seeds are the information (forty of them).
    alike = clustered_share([(2, 4)] * 10)
    assert (alike.low, alike.high) == pytest.approx(wilson_cc(20, 40))
    # In between: wider than the seeds' interval, narrower than the configurations'.
    mixed = clustered_share([(1, 4), (2, 4), (3, 4), (2, 4), (4, 4), (0, 4)] * 3)
    seeds, configurations = (hi - lo for lo, hi in (wilson_cc(36, 72), wilson_cc(9, 18)))
    assert mixed.value == 0.5 and seeds < mixed.high - mixed.low < configurations
    # Six blind configurations of which none converged: the truth may be a corner they missed.
    assert clustered_share([(0, 4)] * 6).high > 0.4
    assert clustered_share([]).value is None


def test_pooled_share_of_one_configuration_counts_trials():
    one = clustered_share([(3, 4)], pooled=True, alike_as_members=True)
    assert (one.value, one.n) == (0.75, 1) and (one.low, one.high) == pytest.approx(wilson_cc(3, 4))
    two = clustered_share([(4, 4), (0, 4)], pooled=True, alike_as_members=True)
    assert two.value == 0.5 and (two.low, two.high) == pytest.approx(wilson_cc(1, 2))


# -- medians and a pooled ratio ------------------------------------------------------------------

def test_median_interval_is_the_order_statistics_binomial_gives():
    st = pytest.importorskip("scipy.stats")
    assert median([]).value is None and median([3.0]) == Estimate(3.0, None, None, 1)
    assert median([1.0, 2.0, 3.0, 4.0, 5.0]).low is None  # five values cannot hold 95 %
    for n in [*range(6, 60), 999, 5000]:  # thousands of trials: the terms in logarithms
        e = median(list(map(float, range(n))))
        k = int(e.low)  # 0-based: x_(k+1) is the low end
        assert st.binom.cdf(k, n, 0.5) <= 0.025 < st.binom.cdf(k + 1, n, 0.5)
        assert e.high == n - 1 - k
    never = median([0.1, math.inf, math.inf])  # "never" is a value: most trials never converged
    assert never.value == math.inf


def test_pooled_ratio_is_a_ratio_of_sums_and_unbounded_when_counts_are_rare():
    e = pooled_ratio([1.0, 2.0, 3.0, 6.0], [1, 1, 2, 2])
    assert e.value == 2.0 and e.n == 4 and e.low < 2.0 < e.high < math.inf
    rare = pooled_ratio([8.0] * 19 + [2.0], [0] * 19 + [4])
    assert rare.value == pytest.approx(154 / 4) and rare.high == math.inf
    assert pooled_ratio([8.0, 8.0], [0, 0]).value is None


# -- the exact test ---------------------------------------------------------------------------

def test_exact_p_of_4_vs_4_with_complete_separation():
    for a, b in (([1.0] * 4, [0.0] * 4), ([5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0])):
        t = rank_test(a, b, "share")
        assert t.p_value == pytest.approx(2 / 70) and round(t.p_value, 4) == 0.0286
        assert t.min_attainable_p == pytest.approx(2 / 70) and t.method == "exact"


def _enumerated(pairs):
    """The two-sided permutation p of the summed centred rank sums, by listing every split."""
    from scipy.stats import rankdata

    per_stratum, observed = [], 0.0
    for x, y in pairs:
        v = np.asarray([*x, *y], dtype=float)
        r, m, n = rankdata(v), len(x), len(v)
        per_stratum.append([r[list(c)].sum() - m * (n + 1) / 2
                            for c in itertools.combinations(range(n), m)])
        observed += r[:m].sum() - m * (n + 1) / 2
    sums = [sum(c) for c in itertools.product(*per_stratum)]
    return sum(abs(s) >= abs(observed) - 1e-9 for s in sums) / len(sums)


def test_permutation_p_is_the_complete_enumeration_with_ties_and_strata():
    pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(150):
        m, k = rng.integers(1, 7, 2)
        x, y = list(rng.integers(0, 5, m) / 4), list(rng.integers(0, 5, k) / 4)  # shares of 4
        assert permutation_p([(x, y)])[0] == pytest.approx(_enumerated([(x, y)]), abs=1e-12)
    for _ in range(40):
        pairs = [(list(rng.integers(0, 3, a) * 1.0), list(rng.integers(0, 3, b) * 1.0))
                 for a, b in rng.integers(1, 5, (2, 2))]
        assert permutation_p(pairs)[0] == pytest.approx(_enumerated(pairs), abs=1e-12)


def test_exact_p_without_ties_agrees_with_scipy():
    st = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for _ in range(30):
        x, y = list(rng.random(rng.integers(2, 15))), list(rng.random(rng.integers(2, 15)) + 0.3)
        assert permutation_p([(x, y)])[0] == pytest.approx(
            st.mannwhitneyu(x, y, method="exact").pvalue, abs=1e-12)


def test_monte_carlo_p_is_within_its_stated_error_of_the_exact_one(monkeypatch):
    rng = np.random.default_rng(2)
    x, y = list(rng.integers(0, 5, 30) / 4), list(rng.integers(1, 5, 28) / 4)
    exact, none = permutation_p([(x, y)])
    assert none is None
    monkeypatch.setattr(_exact, "MAX_CELLS", 0)
    p, error = permutation_p([(x, y)])
    assert 0 < error < 0.005 and abs(p - exact) < 4 * error
    t = rank_test(x, y, "share")
    assert t.method == "Monte-Carlo, 20,000 splits, ± " + f"{error:.2g}" + " (standard error)"


def test_monte_carlo_of_distinct_values_and_of_strata_is_within_its_error_of_exact(monkeypatch):
    # distinct values: the ranks are shuffled; few values in many tie groups: the same path;
    # two strata, one of 5 tie groups among 60 values: the tie-group counts are drawn instead
    rng = np.random.default_rng(4)
    cases = [
        [(list(rng.random(11)), list(rng.random(12) + 0.25))],
        [(list(rng.random(9)), list(rng.random(7) + 0.1)),
         (list(rng.integers(0, 5, 30) / 4), list(rng.integers(1, 5, 30) / 4))],
    ]
    for pairs in cases:
        exact, none = permutation_p(pairs)
        assert none is None
        with monkeypatch.context() as m:
            m.setattr(_exact, "MAX_CELLS", 0)
            p, error = permutation_p(pairs)
        assert 0 < error < 0.005 and abs(p - exact) < 4 * error, (p, exact, error)


def test_many_configurations_draw_fewer_splits_and_say_so(monkeypatch):
    rng = np.random.default_rng(3)
    x, y = list(rng.integers(0, 5, 3000) / 4), list(rng.integers(1, 5, 3000) / 4)
    assert _exact.monte_carlo_splits([(x, y)]) == _exact.MAX_DRAWS // 6000 < _exact.N_PERMUTATIONS
    t = rank_test(x, y, "share")
    assert t.method.startswith(f"Monte-Carlo, {_exact.MAX_DRAWS // 6000:,} splits, ± ")
    # the share of pairs below, counted by sorting, is the pair-by-pair count
    small_x, small_y = x[:200], y[:150]
    by_pairs = sum(1.0 if u < v else 0.5 if u == v else 0.0 for u in small_x for v in small_y)
    assert _exact._below(small_x, small_y) == by_pairs


def test_smallest_attainable_p_and_the_fixed_sequence():
    assert min_attainable_p([(4, 4)]) == pytest.approx(2 / 70)
    assert min_attainable_p([(5, 5)]) == pytest.approx(2 / 252)
    assert min_attainable_p([(3, 3)]) == pytest.approx(0.1)  # above 5 %: cannot tell
    assert min_attainable_p([(1, 1)]) == 1.0
    assert min_attainable_p([(1, 1), (2, 2)]) == pytest.approx(2 / 12)  # strata multiply
    # Unequal arms: ties can make one split the only extreme one, and the test reaches it.
    assert min_attainable_p([(6, 5)]) == pytest.approx(1 / 462)
    assert rank_test([1.0] * 6, [0.0] * 5, "share").p_value == pytest.approx(1 / 462)
    assert min_attainable_p([(3, 4)]) == pytest.approx(1 / 35)
    assert min_attainable_p([(2, 1), (1, 1)]) == pytest.approx(1 / 6)
    assert rank_test([1.0, 0.0, 1.0], [0.0, 0.0, 1.0], "share").min_attainable_p == pytest.approx(0.1)
    assert fixed_sequence([0.01, 0.04, 0.03]) == [0.01, 0.04, 0.04]
    assert fixed_sequence([0.2, 0.01, None, 0.5]) == [0.2, 0.2, None, None]


def test_a_test_needs_a_configuration_in_each_arm():
    t = rank_test([0.5], [], "share")
    assert t.p_value is None and t.effect == "needs a configuration in each arm"


# -- calibration, measured (bench/calibration.py, smaller) -----------------------------------

@pytest.fixture(scope="module")
def calibration():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        import calibration
    finally:
        sys.path.pop(0)
    return calibration


def test_a_vs_a_false_alarms_stay_at_the_level(calibration):
    n = 200
    out = calibration.false_alarms(n, np.random.default_rng(11))
    # 5 % at most, within three Monte-Carlo standard errors of 200 studies (0.015 each).
    assert out["false_alarm_rate"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n), out
    assert out["family_false_alarm_rate"] == out["false_alarm_rate"]  # the sequence adds none


def test_intervals_cover_the_truth_in_every_scenario(calibration):
    n = 200
    cover = calibration.coverage(n, np.random.default_rng(12))
    assert set(cover) == set(calibration.SCENARIOS)
    tolerance = 3 * math.sqrt(0.95 * 0.05 / n)  # three standard errors of 200 studies
    for scenario, intervals in cover.items():
        assert "P(converge) stateful" in intervals and "difference" in intervals
        for name, share in intervals.items():
            assert share >= 0.95 - tolerance, (scenario, name, share)


def test_power_grows_with_blind_configurations(calibration):
    rows = calibration.power(150, np.random.default_rng(13), sizes=(5, 20), pairs=((0.9, 0.5),))
    five, twenty = (r["power"] for r in rows)
    assert five < twenty and twenty > 0.7, rows


def test_docs_carry_the_committed_calibration(calibration):
    """docs/statistics.md's numbers are the ones bench/results/calibration.json holds, and they
    keep the promises: false alarms at most 5 % (within Monte-Carlo error), every interval's
    coverage at least 0.93, the default design's power stated."""
    import json

    root = Path(__file__).resolve().parents[1]
    result = json.loads((root / "bench" / "results" / "calibration.json").read_text())
    docs = (root / "docs" / "statistics.md").read_text()
    block = docs.split(calibration.BEGIN, 1)[1].split(calibration.END, 1)[0]
    assert block == "\n" + calibration.markdown(result)
    assert result["n_studies"] >= 1000 and result["design"]["blind_per_arm"] >= 20
    assert result["false_alarm_rate"] <= 0.05 + 2 * result["false_alarm_rate_se"]
    assert all(share >= 0.93 for cover in result["coverage"].values() for share in cover.values())
    default = {(r["p_a"], r["p_b"]) for r in result["power"] if r["blind_per_arm"] == 20}
    assert {(0.9, 0.5), (0.8, 0.5)} <= default
