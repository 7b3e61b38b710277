from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stagetui.domain.benchmarks import Aggregation, Benchmark, Direction, Scope
from stagetui.domain.models import MetricSample, Strategy
from stagetui.ui.cycle_models import reference_lines, series_by_strategy

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def sample(hours: float, strategy: Strategy, value: float, experiment: str | None = None) -> MetricSample:
    at = NOW - timedelta(hours=hours)
    return MetricSample(
        at, "provision.total_seconds", value, "u", "e", strategy, "local", "b", experiment=experiment
    )


def test_series_per_strategy_in_time_order_without_experiment_samples() -> None:
    samples = [
        sample(1, Strategy.SNAPSHOT, 9),
        sample(3, Strategy.SNAPSHOT, 7),
        sample(2, Strategy.FULL_CLONE, 300, experiment="x"),
        sample(5, Strategy.FULL_CLONE, 400),
        sample(30, Strategy.FULL_CLONE, 500),
    ]
    series = series_by_strategy(samples, "provision.total_seconds", NOW - timedelta(hours=24), scale=0.5)
    assert [(s.label, s.ys) for s in series] == [("full_clone", (200.0,)), ("snapshot", (3.5, 4.5))]
    assert series[1].xs == (NOW - timedelta(hours=3), NOW - timedelta(hours=1))


def test_reference_lines_in_the_metrics_unit_only() -> None:
    benchmarks = [
        Benchmark(
            "p90", "provision.total_seconds", Aggregation.P90, 240, Direction.LOWER_IS_BETTER, baseline=420
        ),
        Benchmark(
            "share",
            "provision.total_seconds",
            Aggregation.SHARE_UNDER,
            0.9,
            Direction.HIGHER_IS_BETTER,
            limit=300,
        ),
        Benchmark(
            "scoped",
            "provision.total_seconds",
            Aggregation.P90,
            60,
            Direction.LOWER_IS_BETTER,
            Scope(Strategy.SNAPSHOT),
        ),
        Benchmark("drift", "drift.unapproved", Aggregation.MAX, 0, Direction.LOWER_IS_BETTER),
    ]
    lines = reference_lines(benchmarks, "provision.total_seconds")
    assert [(line.label, line.value) for line in lines] == [
        ("p90: target", 240),
        ("p90: baseline", 420),
        ("share: limit", 300),
    ]
