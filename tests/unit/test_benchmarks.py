"""Benchmarks: validation, scope, aggregation (numpy as reference), selection and evaluation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from stagetui.domain.benchmarks import (
    Aggregation,
    Benchmark,
    Direction,
    Scope,
    aggregate,
    evaluate,
    metric_label,
    select,
)
from stagetui.domain.models import MetricSample, Strategy

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
TOTAL = "provision.total_seconds"


def _sample(
    value: float,
    *,
    at: datetime = NOW,
    metric: str = TOTAL,
    strategy: Strategy = Strategy.SNAPSHOT,
    runtime: str = "local",
    branch: str = "feature/login",
    step: str | None = None,
    experiment: str | None = None,
) -> MetricSample:
    return MetricSample(at, metric, value, "uid", "env", strategy, runtime, branch, step, experiment)


def _benchmark(**overrides: object) -> Benchmark:
    fields: dict[str, object] = {
        "name": "fast provisioning",
        "metric": TOTAL,
        "aggregation": Aggregation.MEDIAN,
        "target": 300.0,
        "direction": Direction.LOWER_IS_BETTER,
    }
    fields.update(overrides)
    return Benchmark(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aggregation": Aggregation.SHARE_UNDER, "target": 0.9}, "needs a limit"),
        (
            {
                "aggregation": Aggregation.SHARE_UNDER,
                "limit": 300,
                "target": 90,
                "direction": Direction.HIGHER_IS_BETTER,
            },
            r"within 0\.\.1",
        ),
        ({"aggregation": Aggregation.SHARE_UNDER, "limit": 300, "target": 0.9}, "direction 'higher'"),
        ({"limit": 300}, "only applies to the share_under"),
        ({"step": "copy-data"}, "a step can only be given for provision.step_seconds"),
        ({"name": " "}, "needs a name"),
        ({"target": float("nan")}, "finite"),
    ],
)
def test_invalid_benchmarks_are_refused_with_a_clear_message(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _benchmark(**overrides)


def test_a_step_benchmark_is_valid_for_step_seconds() -> None:
    benchmark = _benchmark(metric="provision.step_seconds", step="copy-data")
    assert benchmark.step == "copy-data"
    assert metric_label(benchmark.metric, benchmark.step) == "'copy-data' step time"


def test_scope_matches_strategy_runtime_and_branch_glob() -> None:
    scope = Scope(strategy=Strategy.SNAPSHOT, runtime="local", branch="feature/*")
    assert scope.matches(_sample(1))
    assert not scope.matches(_sample(1, strategy=Strategy.FULL_CLONE))
    assert not scope.matches(_sample(1, runtime="docker"))
    assert not scope.matches(_sample(1, branch="main"))
    assert not scope.matches(_sample(1, branch="Feature/login"))  # branch names are case-sensitive
    assert Scope().matches(_sample(1, branch="anything", runtime="docker"))


def test_aggregations_match_numpy() -> None:
    rng = random.Random(1)
    values = [rng.lognormvariate(5, 0.4) for _ in range(41)]
    assert aggregate(values, Aggregation.MEDIAN) == pytest.approx(float(np.median(values)))
    assert aggregate(values, Aggregation.P90) == pytest.approx(float(np.percentile(values, 90)))
    assert aggregate(values, Aggregation.P95) == pytest.approx(float(np.percentile(values, 95)))
    assert aggregate(values, Aggregation.MEAN) == pytest.approx(float(np.mean(values)))
    assert aggregate(values, Aggregation.MAX) == max(values)
    limit = float(np.percentile(values, 50))
    share = float(np.mean(np.asarray(values) <= limit))
    assert aggregate(values, Aggregation.SHARE_UNDER, limit) == pytest.approx(share)
    with pytest.raises(ValueError, match="empty"):
        aggregate([], Aggregation.MEDIAN)


def _ninety_under_five_minutes() -> Benchmark:
    return _benchmark(
        name="90% under 5 minutes",
        aggregation=Aggregation.SHARE_UNDER,
        limit=300.0,
        target=0.9,
        direction=Direction.HIGHER_IS_BETTER,
        baseline=0.5,
    )


@pytest.mark.parametrize(("under", "met"), [(92, True), (90, True), (85, False)])
def test_share_under_targets_read_as_percentile_goals(under: int, met: bool) -> None:
    rng = random.Random(under)
    values = [rng.uniform(60, 299) for _ in range(under)] + [
        rng.uniform(301, 900) for _ in range(100 - under)
    ]
    values[0] = 300.0  # exactly at the limit counts as under it
    samples = [_sample(v, at=NOW - timedelta(hours=i)) for i, v in enumerate(values)]
    status = evaluate(_ninety_under_five_minutes(), samples, NOW, timedelta(days=7))
    assert status.value == pytest.approx(under / 100)
    assert status.met is met
    # Equivalent reading: the 90th percentile is within the limit exactly when the goal is met.
    assert (float(np.percentile(values, 90, method="inverted_cdf")) <= 300) is met
    assert status.vs_baseline == pytest.approx(under / 100 / 0.5 - 1)


def test_select_filters_metric_step_scope_and_window() -> None:
    benchmark = _benchmark(metric="provision.step_seconds", step="copy-data", scope=Scope(branch="feature/*"))
    step = "provision.step_seconds"
    keep = _sample(1, metric=step, step="copy-data", at=NOW - timedelta(hours=1))
    samples = [
        keep,
        _sample(2, metric=step, step="start-service", at=NOW - timedelta(hours=1)),
        _sample(3, metric=TOTAL, at=NOW - timedelta(hours=1)),
        _sample(4, metric=step, step="copy-data", branch="main", at=NOW - timedelta(hours=1)),
        _sample(5, metric=step, step="copy-data", at=NOW - timedelta(days=3)),
        _sample(6, metric=step, step="copy-data", at=NOW),  # the window's end is exclusive
    ]
    assert select(samples, benchmark, NOW - timedelta(days=1), NOW) == [keep]


def test_experiment_samples_are_left_out_unless_asked_for() -> None:
    plain, tagged = _sample(1), _sample(2, experiment="exp-1")
    other = _sample(3, experiment="exp-2")
    benchmark = _benchmark()
    assert select([plain, tagged, other], benchmark) == [plain]
    assert select([plain, tagged, other], benchmark, experiment="exp-1") == [tagged]
    assert select([plain, tagged, other], benchmark, include_experiments=True) == [plain, tagged, other]
    with pytest.raises(ValueError, match="not both"):
        select([plain], benchmark, experiment="exp-1", include_experiments=True)


def test_evaluate_without_samples_reports_unknown() -> None:
    status = evaluate(_benchmark(), [_sample(100, at=NOW - timedelta(days=30))], NOW, timedelta(days=7))
    assert (status.value, status.n, status.met, status.vs_baseline) == (None, 0, None, None)
    assert (status.window_start, status.window_end) == (NOW - timedelta(days=7), NOW)


def test_evaluate_counts_a_sample_taken_now_and_compares_with_the_baseline() -> None:
    benchmark = _benchmark(baseline=400.0)
    samples = [_sample(v, at=NOW - timedelta(hours=v / 100)) for v in (200.0, 250.0, 350.0)]
    samples.append(_sample(320.0, at=NOW))
    samples.append(_sample(10.0, at=NOW, experiment="exp-1"))
    status = evaluate(benchmark, samples, NOW, timedelta(days=1))
    assert status.n == 4
    assert status.value == 285.0
    assert status.met is True
    assert status.vs_baseline == pytest.approx(285 / 400 - 1)
    assert evaluate(_benchmark(target=250.0), samples, NOW, timedelta(days=1)).met is False
