"""Benchmarks: a metric, sliced by scope (and step), aggregated over a time window and held to a target."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase

from stagetui.domain.models import MetricSample, Strategy
from stagetui.domain.statistics import mean, median, percentile, share_at_most

STEP_METRIC = "provision.step_seconds"
"""The only metric recorded per provisioning step, so the only one a benchmark may narrow to a step."""

_LABELS = {
    "provision.total_seconds": "provisioning time",
    "provision.step_seconds": "step time",
    "provision.failures": "provisioning failures",
    "data.age_seconds": "data age",
    "drift.unapproved": "unapproved drift",
    "integrity.orphans": "orphaned rows",
}


def metric_label(metric: str, step: str | None = None) -> str:
    """Words for a metric in explanations: "provisioning time", "'copy-data' step time"."""
    label = _LABELS.get(metric, metric)
    return f"'{step}' {label}" if step and metric == STEP_METRIC else label


class Aggregation(StrEnum):
    MEDIAN = "median"
    P90 = "p90"
    P95 = "p95"
    MAX = "max"
    MEAN = "mean"
    SHARE_UNDER = "share_under"
    """Share (0..1) of samples at or under the benchmark's limit: "90% of environments within 5 minutes"."""


class Direction(StrEnum):
    LOWER_IS_BETTER = "lower"
    HIGHER_IS_BETTER = "higher"


@dataclass(frozen=True)
class Scope:
    """Which samples a benchmark or experiment is about; None means any."""

    strategy: Strategy | None = None
    runtime: str | None = None
    branch: str | None = None
    """An fnmatch glob ("feature/*"), matched case-sensitively: git branch names are."""

    def admits(self, strategy: Strategy, runtime: str, branch: str) -> bool:
        return (
            (self.strategy is None or strategy == self.strategy)
            and (self.runtime is None or runtime == self.runtime)
            and (self.branch is None or fnmatchcase(branch, self.branch))
        )

    def matches(self, sample: MetricSample) -> bool:
        return self.admits(sample.strategy, sample.runtime, sample.branch)


def in_series(sample: MetricSample, metric: str, step: str | None, scope: Scope) -> bool:
    """Same metric (and step, when one is named) and inside the scope; says nothing of time or tags."""
    return sample.metric == metric and (step is None or sample.step == step) and scope.matches(sample)


@dataclass(frozen=True)
class Benchmark:
    name: str
    metric: str
    aggregation: Aggregation
    target: float
    direction: Direction
    scope: Scope = field(default_factory=Scope)
    step: str | None = None
    """Only with `provision.step_seconds`: that step's time alone."""
    limit: float | None = None
    """The threshold of a share_under benchmark (in the metric's unit, e.g. 300 seconds)."""
    baseline: float | None = None
    """The value before improvement work began, to report progress against."""
    description: str = ""

    def __post_init__(self) -> None:
        where = f"benchmark {self.name!r}"
        if not self.name.strip():
            raise ValueError("a benchmark needs a name")
        if not self.metric.strip():
            raise ValueError(f"{where}: a metric is required")
        if self.step is not None and self.metric != STEP_METRIC:
            raise ValueError(f"{where}: a step can only be given for {STEP_METRIC}, not {self.metric}")
        if not math.isfinite(self.target):
            raise ValueError(f"{where}: the target must be a finite number")
        if self.aggregation is Aggregation.SHARE_UNDER:
            if self.limit is None:
                raise ValueError(f"{where}: share_under needs a limit (the value samples must stay under)")
            if not 0 <= self.target <= 1:
                raise ValueError(f"{where}: a share_under target is a share within 0..1, got {self.target}")
            if self.direction is not Direction.HIGHER_IS_BETTER:
                raise ValueError(f"{where}: a larger share under the limit is better; use direction 'higher'")
        elif self.limit is not None:
            raise ValueError(f"{where}: a limit only applies to the share_under aggregation")

    def is_met(self, value: float) -> bool:
        if self.direction is Direction.LOWER_IS_BETTER:
            return value <= self.target
        return value >= self.target

    def vs_baseline(self, value: float) -> float | None:
        """Relative change from the recorded baseline (-0.3 = 30% lower); None without a usable baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return (value - self.baseline) / abs(self.baseline)


def aggregate(values: Sequence[float], aggregation: Aggregation, limit: float | None = None) -> float:
    """One number for a series of values; raises ValueError when there are none."""
    if not values:
        raise ValueError("cannot aggregate an empty series")
    match aggregation:
        case Aggregation.MEDIAN:
            return median(values)
        case Aggregation.P90:
            return percentile(values, 90)
        case Aggregation.P95:
            return percentile(values, 95)
        case Aggregation.MAX:
            return max(values)
        case Aggregation.MEAN:
            return mean(values)
        case Aggregation.SHARE_UNDER:
            if limit is None:
                raise ValueError("share_under needs a limit")
            return share_at_most(values, limit)


def select(
    samples: Iterable[MetricSample],
    benchmark: Benchmark,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    experiment: str | None = None,
    include_experiments: bool = False,
) -> list[MetricSample]:
    """The benchmark's samples taken in [since, until) (either bound may be open).

    By default only untagged samples count: a benchmark reports how the product normally behaves, and an
    experiment's samples come from a deliberately changed setup. `experiment="<id>"` selects that
    experiment's samples instead; `include_experiments=True` takes every sample whatever its tag.
    """
    if include_experiments and experiment is not None:
        raise ValueError("choose one experiment or all samples, not both")
    return [
        sample
        for sample in samples
        if in_series(sample, benchmark.metric, benchmark.step, benchmark.scope)
        and (include_experiments or sample.experiment == experiment)
        and (since is None or sample.at >= since)
        and (until is None or sample.at < until)
    ]


@dataclass(frozen=True)
class BenchmarkStatus:
    benchmark: Benchmark
    value: float | None
    """None when the window holds no samples."""
    n: int
    met: bool | None
    vs_baseline: float | None
    """Relative to the benchmark's baseline (-0.3 = 30% lower)."""
    window_start: datetime
    window_end: datetime


def evaluate(
    benchmark: Benchmark, samples: Iterable[MetricSample], now: datetime, window: timedelta
) -> BenchmarkStatus:
    """The benchmark's current value over [now - window, now], experiment samples excluded."""
    start = now - window
    # One microsecond (datetime's resolution) past now, so a sample recorded at this very tick counts.
    chosen = select(samples, benchmark, start, now + timedelta(microseconds=1))
    if not chosen:
        return BenchmarkStatus(benchmark, None, 0, None, None, start, now)
    value = aggregate([sample.value for sample in chosen], benchmark.aggregation, benchmark.limit)
    return BenchmarkStatus(
        benchmark, value, len(chosen), benchmark.is_met(value), benchmark.vs_baseline(value), start, now
    )
