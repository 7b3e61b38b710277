"""Robust statistics for benchmarks and experiments: percentiles, Mann-Whitney U, bootstrap intervals,
Cliff's delta, and a two-sample comparison that ends in a verdict in plain words.

Standard library only: the domain must stay pure and light, so the tests hold these to numpy/scipy instead.
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

Statistic = Callable[[Sequence[float]], float]
MINUS = "\u2212"

EXACT_MAX_GROUP = 25
"""Largest group for the exact Mann-Whitney null distribution (above it the normal approximation is good)."""


def _require(values: Sequence[float], what: str = "values") -> None:
    if not values:
        raise ValueError(f"{what} must not be empty")


def _lerp(a: float, b: float, t: float) -> float:
    # numpy's form (interpolate from the nearer end), so results match its percentiles bit for bit; the
    # guards keep infinities from turning into NaN (inf - inf, inf * 0).
    if t == 0 or a == b:
        return a
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks: numpy's default method."""
    _require(values)
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return _lerp(ordered[low], ordered[high], position - low)


def median(values: Sequence[float]) -> float:
    _require(values)
    return float(statistics.median(values))


def mean(values: Sequence[float]) -> float:
    _require(values)
    return statistics.fmean(values)


def share_at_most(values: Sequence[float], limit: float) -> float:
    """Share (0..1) of the values at or under `limit`: "90% of environments ready within five minutes"."""
    _require(values)
    return sum(1 for value in values if value <= limit) / len(values)


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    median: float
    p90: float
    p95: float
    minimum: float
    maximum: float
    stdev: float
    """Sample standard deviation (n - 1); 0.0 for a single value."""
    iqr: float
    """Interquartile range, p75 - p25."""


def summarize(values: Sequence[float]) -> Summary:
    _require(values)
    return Summary(
        n=len(values),
        mean=mean(values),
        median=median(values),
        p90=percentile(values, 90),
        p95=percentile(values, 95),
        minimum=min(values),
        maximum=max(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        iqr=percentile(values, 75) - percentile(values, 25),
    )


@dataclass(frozen=True)
class MannWhitney:
    u: float
    """U of the first sample (as scipy reports it): pairs where x beats y, ties counting half."""
    p_value: float
    """Two-sided."""
    method: str
    """"exact" or "asymptotic"."""


def _u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) orderings give U = 0..m*n: the coefficients of the Gaussian binomial
    [m+n choose m]_q, built as prod (1 - q^(n+i)) / (1 - q^i) in integers, so the counts are exact."""
    size = m * n + 1
    counts = [0] * size
    counts[0] = 1
    for i in range(1, m + 1):
        step = n + i
        for k in range(size - 1, step - 1, -1):  # times (1 - q^step), truncated: higher terms cancel later
            counts[k] -= counts[k - step]
        for k in range(i, size):  # divided by (1 - q^i)
            counts[k] += counts[k - i]
    return counts


def _ranks(values: Sequence[float]) -> list[float]:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for index in order[start : end + 1]:
            ranks[index] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test: exact without ties in small samples, else the normal approximation
    with tie and continuity corrections (scipy's `mannwhitneyu` with the same method)."""
    _require(x, "x")
    _require(y, "y")
    n1, n2 = len(x), len(y)
    combined = [*x, *y]
    u1 = sum(_ranks(combined)[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    ties = [count for count in Counter(combined).values() if count > 1]
    if not ties and max(n1, n2) <= EXACT_MAX_GROUP:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        p = 2 * sum(counts[round(u) :]) / math.comb(n1 + n2, n1)
        return MannWhitney(u1, min(p, 1.0), "exact")
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties)
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence of any difference
        return MannWhitney(u1, 1.0, "asymptotic")
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return MannWhitney(u1, min(math.erfc(z / math.sqrt(2)), 1.0), "asymptotic")


def cliffs_delta(x: Sequence[float], y: Sequence[float]) -> float:
    """P(x > y) - P(x < y) over all pairs: -1 when every x is below every y, +1 when above."""
    _require(x, "x")
    _require(y, "y")
    ordered = sorted(y)
    above = sum(bisect_left(ordered, value) for value in x)
    below = sum(len(ordered) - bisect_right(ordered, value) for value in x)
    return (above - below) / (len(x) * len(ordered))


@dataclass(frozen=True)
class BootstrapInterval:
    """Relative change stat(experiment) / stat(baseline) - 1 with a percentile-bootstrap interval."""

    estimate: float | None
    low: float | None
    high: float | None
    confidence: float
    resamples: int
    note: str = ""
    """Why there is no estimate (a zero baseline statistic), empty otherwise."""


def _relative(baseline: float, experiment: float) -> float:
    if baseline == 0:
        # A resample whose baseline statistic is 0 is an unbounded change: it widens the interval to
        # infinity instead of being dropped, which would hide how unstable the baseline is.
        return 0.0 if experiment == 0 else math.copysign(math.inf, experiment)
    return (experiment - baseline) / abs(baseline)


def bootstrap_ci(
    baseline: Sequence[float],
    experiment: Sequence[float],
    statistic: Statistic = median,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> BootstrapInterval:
    """Percentile bootstrap of the relative change; the same seed gives the same interval."""
    _require(baseline, "baseline")
    _require(experiment, "experiment")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    base = statistic(baseline)
    if base == 0:
        note = "the baseline statistic is 0, so a relative change is undefined"
        return BootstrapInterval(None, None, None, confidence, resamples, note)
    rng = random.Random(seed)
    changes = [
        _relative(
            statistic(rng.choices(baseline, k=len(baseline))),
            statistic(rng.choices(experiment, k=len(experiment))),
        )
        for _ in range(resamples)
    ]
    tail = (1 - confidence) / 2 * 100
    return BootstrapInterval(
        _relative(base, statistic(experiment)),
        percentile(changes, tail),
        percentile(changes, 100 - tail),
        confidence,
        resamples,
    )


class Verdict(StrEnum):
    IMPROVED = "improved"
    WORSE = "worse"
    NO_CLEAR_CHANGE = "no clear change"
    INCONCLUSIVE = "inconclusive"
    """Too little data to say anything."""


@dataclass(frozen=True)
class Comparison:
    n_baseline: int
    n_experiment: int
    baseline_median: float | None
    experiment_median: float | None
    statistic: str
    """What the relative change is of ("median", "p90", ...)."""
    relative_change: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    p_value: float | None
    cliffs_delta: float | None
    """Experiment against baseline: negative when the experiment's values tend to be lower."""
    verdict: Verdict
    explanation: str


def _magnitude(change: float) -> str:
    return "∞%" if math.isinf(change) else f"{abs(change) * 100:.0f}%"


def format_change(change: float) -> str:
    """A signed percentage such as "+12%"; negatives take the typeset minus sign (U+2212), not a hyphen."""
    text = _magnitude(change)
    return text if text == "0%" else (MINUS if change < 0 else "+") + text


def format_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _too_few(n_baseline: int, n_experiment: int, min_samples: int) -> str:
    short = [
        f"no samples in the {group}" if n == 0 else f"only {n} sample{'s' * (n != 1)} in the {group}"
        for n, group in ((n_baseline, "baseline"), (n_experiment, "experiment"))
        if n < min_samples
    ]
    return f"{' and '.join(short)}; at least {min_samples} per group are needed to conclude"


def compare_samples(
    baseline: Sequence[float],
    experiment: Sequence[float],
    *,
    lower_is_better: bool,
    alpha: float = 0.05,
    min_samples: int = 5,
    seed: int = 0,
    statistic: Statistic = median,
    statistic_name: str = "median",
    label: str = "value",
) -> Comparison:
    """Did the experiment move `statistic` of the metric (called `label` in the explanation)?

    "improved"/"worse" need both the Mann-Whitney test (p < alpha) and the bootstrap interval of the
    relative change (confidence 1 - alpha) to exclude "no change"; one without the other is "no clear
    change", so a verdict never rests on a shifted tail alone or on one lucky interval.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    n_b, n_e = len(baseline), len(experiment)
    medians = (median(baseline) if n_b else None, median(experiment) if n_e else None)
    if n_b < min_samples or n_e < min_samples:
        base = statistic(baseline) if n_b and n_e else 0.0
        change = _relative(base, statistic(experiment)) if base != 0 else None
        return Comparison(
            n_b, n_e, *medians, statistic_name, change, None, None, 1 - alpha, None, None,
            Verdict.INCONCLUSIVE, _too_few(n_b, n_e, min_samples),
        )  # fmt: skip
    test = mann_whitney_u(baseline, experiment)
    interval = bootstrap_ci(baseline, experiment, statistic, confidence=1 - alpha, seed=seed)
    delta = cliffs_delta(experiment, baseline)
    what, p = f"{statistic_name} {label}", format_p(test.p_value)
    if interval.estimate is None or interval.low is None or interval.high is None:
        # Zero baseline: no ratio to speak of, so the direction comes from how the values are ordered.
        moved, went_down = test.p_value < alpha and delta != 0, delta < 0
        after = f"{statistic(experiment):g}"
        described = (
            f"{what} went from 0 to {after} ({p})"
            if moved
            else f"no clear change in {what}: 0 in the baseline, {after} in the experiment ({p})"
        )
    else:
        moved = test.p_value < alpha and (interval.low > 0 or interval.high < 0)
        went_down = interval.high < 0
        bounds = (
            f"{interval.confidence:.0%} CI {format_change(interval.low)} to {format_change(interval.high)}"
        )
        if moved:
            verb = "fell" if went_down else "rose"
            described = f"{what} {verb} {_magnitude(interval.estimate)} ({bounds}, {p})"
        else:
            described = f"no clear change in {what}: {format_change(interval.estimate)} ({bounds}, {p})"
    verdict = Verdict.NO_CLEAR_CHANGE
    if moved:
        verdict = Verdict.IMPROVED if went_down == lower_is_better else Verdict.WORSE
    return Comparison(
        n_b, n_e, *medians, statistic_name, interval.estimate, interval.low, interval.high,
        1 - alpha, test.p_value, delta, verdict, described,
    )  # fmt: skip
