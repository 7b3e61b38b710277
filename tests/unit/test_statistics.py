"""The statistics behind verdicts, held to numpy and scipy as references on seeded known distributions."""

from __future__ import annotations

import math
import random
from itertools import product

import numpy as np
import pytest
from scipy import stats

from stagetui.domain.statistics import (
    Verdict,
    bootstrap_ci,
    cliffs_delta,
    compare_samples,
    format_change,
    mann_whitney_u,
    mean,
    median,
    percentile,
    share_at_most,
    summarize,
)


def _sample(rng: random.Random, n: int, median_value: float = 100.0, sigma: float = 0.3) -> list[float]:
    return [rng.lognormvariate(math.log(median_value), sigma) for _ in range(n)]


def test_percentiles_match_numpy_linear_interpolation() -> None:
    rng = random.Random(1)
    for n in (1, 2, 3, 10, 57):
        values = [rng.uniform(-50, 500) for _ in range(n)]
        for q in (0, 1, 12.5, 25, 50, 75, 90, 95, 99.9, 100):
            assert percentile(values, q) == pytest.approx(
                float(np.percentile(values, q)), rel=1e-12, abs=1e-12
            )


def test_percentile_median_mean_and_share_on_small_known_values() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 90) == pytest.approx(37.0)
    assert median(values) == 25.0
    assert mean(values) == 25.0
    assert share_at_most(values, 30) == 0.75
    assert share_at_most(values, 9.99) == 0.0


@pytest.mark.parametrize("call", [lambda: percentile([], 50), lambda: median([]), lambda: summarize([])])
def test_empty_input_raises(call: object) -> None:
    with pytest.raises(ValueError, match="empty"):
        call()  # type: ignore[operator]


def test_percentile_rejects_q_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_summary_matches_numpy() -> None:
    values = _sample(random.Random(2), 40)
    summary = summarize(values)
    assert summary.n == 40
    assert summary.mean == pytest.approx(float(np.mean(values)))
    assert summary.median == pytest.approx(float(np.median(values)))
    assert summary.p95 == pytest.approx(float(np.percentile(values, 95)))
    assert summary.stdev == pytest.approx(float(np.std(values, ddof=1)))
    assert summary.iqr == pytest.approx(float(np.percentile(values, 75) - np.percentile(values, 25)))
    assert (summary.minimum, summary.maximum) == (min(values), max(values))


def test_summary_of_one_value_has_no_spread() -> None:
    summary = summarize([7.0])
    assert (summary.stdev, summary.iqr, summary.p90, summary.median) == (0.0, 0.0, 7.0, 7.0)


def test_exact_mann_whitney_matches_scipy_on_small_samples_without_ties() -> None:
    rng = random.Random(3)
    sizes = [(1, 1), (1, 5), (3, 3), (4, 7), (8, 8), (12, 20), (25, 25), *product((2, 6, 15), (9, 25))]
    for n1, n2 in sizes:
        shift = rng.choice([0.0, 0.5, 1.5])
        x = [rng.gauss(0, 1) for _ in range(n1)]
        y = [rng.gauss(shift, 1) for _ in range(n2)]
        ours = mann_whitney_u(x, y)
        reference = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
        assert ours.method == "exact"
        assert ours.u == reference.statistic
        assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-12)


def test_exact_p_value_of_fully_separated_groups_is_two_over_the_orderings() -> None:
    # 3 vs 3: C(6, 3) = 20 equally likely orderings, two of them as extreme as this one.
    assert mann_whitney_u([1, 2, 3], [4, 5, 6]).p_value == pytest.approx(0.1)


def test_ties_use_the_corrected_normal_approximation_like_scipy() -> None:
    rng = random.Random(4)
    for n1, n2 in [(3, 4), (10, 12), (40, 25)]:
        x = [float(rng.randint(0, 6)) for _ in range(n1)]
        y = [float(rng.randint(1, 8)) for _ in range(n2)]
        ours = mann_whitney_u(x, y)
        reference = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        assert ours.method == "asymptotic"
        assert ours.u == reference.statistic
        assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)


def test_large_samples_use_the_normal_approximation_like_scipy() -> None:
    rng = random.Random(5)
    x = _sample(rng, 120)
    y = _sample(rng, 90, median_value=110)
    ours = mann_whitney_u(x, y)
    reference = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    assert ours.method == "asymptotic"
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-6)


def test_identical_samples_give_p_one() -> None:
    assert mann_whitney_u([5.0] * 6, [5.0] * 9).p_value == 1.0
    values = _sample(random.Random(6), 12)
    assert mann_whitney_u(values, values).p_value == 1.0


def test_cliffs_delta_counts_pairs_with_ties_as_neither() -> None:
    rng = random.Random(7)
    x = [float(rng.randint(0, 9)) for _ in range(30)]
    y = [float(rng.randint(2, 11)) for _ in range(25)]
    brute = sum((a > b) - (a < b) for a in x for b in y) / (len(x) * len(y))
    assert cliffs_delta(x, y) == pytest.approx(brute)
    assert cliffs_delta([1, 2], [3, 4]) == -1.0
    assert cliffs_delta([3, 4], [1, 2]) == 1.0
    assert cliffs_delta([1, 2], [1, 2]) == 0.0


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    rng = random.Random(8)
    base, exp = _sample(rng, 30), _sample(rng, 30, median_value=80)
    first = bootstrap_ci(base, exp, seed=11, resamples=500)
    assert bootstrap_ci(base, exp, seed=11, resamples=500) == first
    assert bootstrap_ci(base, exp, seed=12, resamples=500) != first


def test_bootstrap_interval_covers_the_true_shift_and_excludes_no_change() -> None:
    rng = random.Random(9)
    base = _sample(rng, 60, median_value=200, sigma=0.2)
    exp = _sample(rng, 60, median_value=120, sigma=0.2)  # true change of the median: -40%
    interval = bootstrap_ci(base, exp)
    assert interval.low is not None and interval.high is not None and interval.estimate is not None
    assert interval.low < -0.4 < interval.high < 0
    assert interval.low <= interval.estimate <= interval.high


def test_bootstrap_with_a_zero_baseline_statistic_says_so_instead_of_dividing() -> None:
    interval = bootstrap_ci([0.0, 0.0, 0.0, 1.0], [2.0, 3.0, 4.0])
    assert (interval.estimate, interval.low, interval.high) == (None, None, None)
    assert "baseline statistic is 0" in interval.note


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_samples_are_inconclusive_without_errors(n: int) -> None:
    rng = random.Random(10)
    comparison = compare_samples(_sample(rng, 20), _sample(rng, n), lower_is_better=True)
    assert comparison.verdict is Verdict.INCONCLUSIVE
    assert comparison.p_value is None and comparison.ci_low is None
    assert "at least 5 per group are needed to conclude" in comparison.explanation
    if n:
        assert f"only {n} sample" in comparison.explanation


def test_both_groups_short_are_both_named() -> None:
    comparison = compare_samples([1.0], [2.0, 3.0, 4.0], lower_is_better=True)
    assert comparison.explanation == (
        "only 1 sample in the baseline and only 3 samples in the experiment; "
        "at least 5 per group are needed to conclude"
    )


def test_a_clear_cut_is_an_improvement_when_lower_is_better_and_worse_otherwise() -> None:
    rng = random.Random(11)
    base = _sample(rng, 25, median_value=300, sigma=0.15)
    exp = _sample(rng, 25, median_value=150, sigma=0.15)
    lower = compare_samples(base, exp, lower_is_better=True, label="provisioning time")
    assert lower.verdict is Verdict.IMPROVED
    assert lower.p_value is not None and lower.p_value < 0.001
    assert lower.cliffs_delta is not None and lower.cliffs_delta < -0.9
    assert lower.explanation.startswith("median provisioning time fell ")
    assert "95% CI \u2212" in lower.explanation
    assert compare_samples(base, exp, lower_is_better=False).verdict is Verdict.WORSE


def test_noise_is_no_clear_change() -> None:
    rng = random.Random(12)
    comparison = compare_samples(_sample(rng, 30), _sample(rng, 30), lower_is_better=True)
    assert comparison.verdict is Verdict.NO_CLEAR_CHANGE
    assert comparison.explanation.startswith("no clear change in median value")


def test_an_interval_excluding_zero_is_not_enough_without_the_test() -> None:
    # Bimodal values: the median jumps between modes, so the bootstrap interval excludes "no change",
    # yet the rank test does not reject (p = 0.06): the verdict needs both.
    base = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 11.0, 11.0]
    exp = [1.0, 10.0, 10.0, 10.0, 10.0, 11.0, 11.0, 11.0]
    comparison = compare_samples(base, exp, lower_is_better=True)
    assert comparison.ci_low is not None and comparison.ci_low > 0
    assert comparison.p_value is not None and comparison.p_value > 0.05
    assert comparison.verdict is Verdict.NO_CLEAR_CHANGE


def test_a_zero_baseline_median_still_gets_a_direction() -> None:
    comparison = compare_samples([0.0] * 12, [2.0, 3.0, 1.0, 2.0, 4.0, 0.0, 2.0, 3.0], lower_is_better=True)
    assert comparison.verdict is Verdict.WORSE
    assert comparison.relative_change is None
    assert "went from 0 to 2" in comparison.explanation


def test_changes_are_printed_with_a_real_minus_sign() -> None:
    assert format_change(-0.48) == "\u221248%"
    assert format_change(0.125) == "+12%"
    assert format_change(0.0) == "0%"
    assert format_change(-math.inf) == "\u2212\u221e%"
