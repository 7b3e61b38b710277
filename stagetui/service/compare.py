"""Strategies side by side, measured from this team's own environments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from stagetui.domain.models import MetricSample, Strategy
from stagetui.domain.outcomes import PredictionRow, prediction_table
from stagetui.domain.statistics import median, percentile
from stagetui.service import test_results
from stagetui.service.core import ServiceCore

BEST_FOR_SHORT = {
    Strategy.FULL_CLONE: "pre-release, perf",
    Strategy.SNAPSHOT: "feature, integration",
    Strategy.CONTAINERIZED: "unit, per-branch CI",
}
BEST_FOR = {
    Strategy.FULL_CLONE: "pre-release, performance and data-heavy tests: closest to production",
    Strategy.SNAPSHOT: "feature and integration tests that need realistic data, minutes old",
    Strategy.CONTAINERIZED: "unit and integration tests per branch or run: seconds, cheapest",
}


@dataclass(frozen=True)
class StrategyComparison:
    strategy: Strategy
    environments: int
    provision_p50: float | None
    provision_p90: float | None
    data_age_median: float | None
    drift_median: float | None
    cost_per_day_median: float | None
    pass_rate: float | None
    prediction: PredictionRow | None
    best_for: str


def _by_strategy(samples: list[MetricSample], metric: str) -> dict[Strategy, list[float]]:
    grouped: dict[Strategy, list[float]] = defaultdict(list)
    for sample in samples:
        if sample.metric == metric and sample.experiment is None:
            grouped[sample.strategy].append(sample.value)
    return grouped


def _median(values: list[float]) -> float | None:
    return median(values) if values else None


def compare(core: ServiceCore, now: datetime | None = None) -> list[StrategyComparison]:
    """Over the baseline window, experiment samples left out (they come from a changed setup)."""
    now = now or core.clock()
    samples = core.store.metrics(since=now - core.config.cycle.baseline_window)
    totals = _by_strategy(samples, "provision.total_seconds")
    ages, drift = _by_strategy(samples, "data.age_seconds"), _by_strategy(samples, "drift.unapproved")
    costs, passes = _by_strategy(samples, "cost.per_day"), _by_strategy(samples, "tests.pass_rate")
    counts = {strategy: len(values) for strategy, values in totals.items()}
    pass_rates = {strategy: _median(passes.get(strategy, [])) for strategy in Strategy}
    known_outcomes = test_results.outcomes(core)
    # Without any imported outcome there is nothing to predict: "0 per 100" would claim a clean record.
    table = prediction_table(pass_rates, known_outcomes, counts) if known_outcomes else []
    predictions = {row.strategy: row for row in table}
    return [
        StrategyComparison(
            strategy=strategy,
            environments=counts.get(strategy, 0),
            provision_p50=percentile(totals[strategy], 50) if totals.get(strategy) else None,
            provision_p90=percentile(totals[strategy], 90) if totals.get(strategy) else None,
            data_age_median=_median(ages.get(strategy, [])),
            drift_median=_median(drift.get(strategy, [])),
            cost_per_day_median=_median(costs.get(strategy, [])),
            pass_rate=pass_rates[strategy],
            prediction=predictions.get(strategy),
            best_for=BEST_FOR[strategy],
        )
        for strategy in Strategy
    ]
