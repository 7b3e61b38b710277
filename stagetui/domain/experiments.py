"""Experiments: a change tried on a scope for a while, its samples tagged, then compared with the baseline
measured just before it started."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from stagetui.domain.benchmarks import Aggregation, Scope, aggregate, in_series, metric_label
from stagetui.domain.models import MetricSample, Strategy
from stagetui.domain.statistics import Comparison, Verdict, compare_samples, format_change


class ExperimentStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    hypothesis: str
    change: str
    """What was changed, in words ("copy tables in parallel")."""
    metric: str
    scope: Scope
    expected_change: float
    """Relative change hoped for: -0.5 for "cut by half", 0.2 for "20% more"."""
    started_at: datetime | None
    ended_at: datetime | None
    status: ExperimentStatus
    step: str | None = None
    aggregation: Aggregation = Aggregation.MEDIAN
    lower_is_better: bool = True
    baseline_window: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        where = f"experiment {self.id!r}"
        if not self.id.strip():
            raise ValueError("an experiment needs an id")
        if not self.metric.strip():
            raise ValueError(f"{where}: a metric is required")
        if self.aggregation is Aggregation.SHARE_UNDER:
            # A share needs a limit, which an experiment does not carry; compare the distribution instead.
            raise ValueError(f"{where}: share_under cannot be compared; use median, p90, p95, max or mean")
        if not math.isfinite(self.expected_change):
            raise ValueError(f"{where}: the expected change must be a finite number")
        if self.baseline_window <= timedelta(0):
            raise ValueError(f"{where}: the baseline window must be positive")
        if self.started_at is None and self.status in {ExperimentStatus.RUNNING, ExperimentStatus.FINISHED}:
            raise ValueError(f"{where}: a {self.status.value} experiment needs a start time")
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValueError(f"{where}: it ends before it starts")

    def is_running(self, at: datetime) -> bool:
        return self.status is ExperimentStatus.RUNNING and self._in_run(at)

    def _in_run(self, at: datetime) -> bool:
        """Within [started_at, ended_at), open-ended while no end is set."""
        started = self.started_at is not None and self.started_at <= at
        return started and (self.ended_at is None or at < self.ended_at)

    def covers(self, sample: MetricSample) -> bool:
        """In scope and taken during the run (of any metric: see `tag_for`)."""
        return self.scope.matches(sample) and self._in_run(sample.at)

    def measures(self, metric: str, step: str | None) -> bool:
        return metric == self.metric and (self.step is None or step == self.step)


def tag_for(
    experiments: Iterable[Experiment],
    *,
    at: datetime,
    metric: str,
    strategy: Strategy,
    runtime: str,
    branch: str,
    step: str | None = None,
) -> str | None:
    """The id of the running experiment a new sample belongs to, or None.

    Candidates are the experiments running at `at` whose scope admits the environment. Those measuring
    this metric (and step) come first; failing that, any candidate still claims the sample, because the
    change touches the whole environment: its other metrics would otherwise leak a changed setup into
    benchmarks and later baselines. Among equals the most recently started wins: when experiments
    overlap, the newest change is the one layered on top of the others (same start: the first given).
    """
    candidates = [e for e in experiments if e.is_running(at) and e.scope.admits(strategy, runtime, branch)]
    if not candidates:
        return None
    # Measuring this metric outranks recency; max() returns the first of equal keys.
    best = max(candidates, key=lambda e: (e.measures(metric, step), e.started_at or at))
    return best.id


def tag_sample(experiments: Iterable[Experiment], sample: MetricSample) -> MetricSample:
    """The sample with its experiment tag set (or cleared) from the experiments running when it was taken."""
    tag = tag_for(
        experiments,
        at=sample.at,
        metric=sample.metric,
        strategy=sample.strategy,
        runtime=sample.runtime,
        branch=sample.branch,
        step=sample.step,
    )
    return dataclasses.replace(sample, experiment=tag)


@dataclass(frozen=True)
class ExperimentResult:
    experiment: Experiment
    comparison: Comparison
    met_expectation: bool | None
    """True: the whole interval lies beyond the expected change; False: the whole interval falls short of
    it; None: inconclusive, or the interval contains the expected change."""
    summary: str


def _groups(
    experiment: Experiment, samples: Iterable[MetricSample], now: datetime
) -> tuple[list[float], list[float]]:
    """Baseline: untagged, in scope, in [start - baseline_window, start). Experiment: tagged with its id
    (tags were given in scope during the run), taken by `now`."""
    start = experiment.started_at
    baseline: list[float] = []
    tagged: list[float] = []
    if start is None:
        return baseline, tagged
    for sample in samples:
        if not in_series(sample, experiment.metric, experiment.step, experiment.scope):
            continue
        if sample.experiment is None and start - experiment.baseline_window <= sample.at < start:
            baseline.append(sample.value)
        elif sample.experiment == experiment.id and sample.at <= now:
            tagged.append(sample.value)
    return baseline, tagged


def _expectation(experiment: Experiment, comparison: Comparison) -> bool | None:
    low, high, expected = comparison.ci_low, comparison.ci_high, experiment.expected_change
    if comparison.verdict is Verdict.INCONCLUSIVE or low is None or high is None:
        return None
    if experiment.lower_is_better:
        return True if high <= expected else False if low > expected else None
    return True if low >= expected else False if high < expected else None


def analyse(experiment: Experiment, samples: Iterable[MetricSample], now: datetime) -> ExperimentResult:
    baseline, tagged = _groups(experiment, samples, now)

    def statistic(values: Sequence[float]) -> float:
        return aggregate(values, experiment.aggregation)

    comparison = compare_samples(
        baseline,
        tagged,
        lower_is_better=experiment.lower_is_better,
        statistic=statistic,
        statistic_name=experiment.aggregation.value,
        label=metric_label(experiment.metric, experiment.step),
    )
    met = _expectation(experiment, comparison)
    expected = f"expected change ({format_change(experiment.expected_change)})"
    if experiment.started_at is None:
        outcome = "inconclusive: it has not started, so there is nothing to compare yet"
    elif comparison.verdict is Verdict.INCONCLUSIVE:
        outcome = f"inconclusive: {comparison.explanation}"
    else:
        outcome = f"{comparison.verdict.value}: {comparison.explanation}"
        if met is True:
            outcome += f"; the whole interval is beyond the {expected}, so the hypothesis holds"
        elif met is False:
            outcome += f"; the interval falls short of the {expected}, so the hypothesis fails"
        else:
            outcome += f"; the interval includes the {expected}, so it is neither confirmed nor ruled out"
    return ExperimentResult(experiment, comparison, met, f"{experiment.name}: {outcome}")
