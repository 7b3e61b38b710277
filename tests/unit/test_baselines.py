"""Baseline assessment over a frozen clock: the value, and each warning raised for its own reason only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from stagetui.domain.baselines import assess_baseline
from stagetui.domain.benchmarks import Aggregation, Benchmark, Direction
from stagetui.domain.models import MetricSample, Strategy

END = datetime(2026, 3, 16, 0, 0, tzinfo=UTC)  # a Monday midnight: the window is the two weeks before
BENCHMARK = Benchmark("median provisioning", "provision.total_seconds", Aggregation.MEDIAN, 240.0,
                      Direction.LOWER_IS_BETTER)  # fmt: skip


def _sample(at: datetime, value: float, experiment: str | None = None) -> MetricSample:
    return MetricSample(
        at,
        "provision.total_seconds",
        value,
        "uid",
        "env",
        Strategy.SNAPSHOT,
        "local",
        "main",
        None,
        experiment,
    )


def _spread_over_days(days: int, per_day: int, hour: int = 11, seed: int = 0) -> list[MetricSample]:
    """`per_day` samples on each of the last `days` days, around `hour` UTC, values near 300 s."""
    rng = random.Random(seed)
    return [
        _sample(END - timedelta(days=day + 1) + timedelta(hours=hour, minutes=17 * i), rng.gauss(300, 20))
        for day in range(days)
        for i in range(per_day)
    ]


def _assess(samples: list[MetricSample], **options: object) -> tuple[float | None, tuple[str, ...]]:
    result = assess_baseline(BENCHMARK, samples, window_end=END, **options)  # type: ignore[arg-type]
    return result.value, result.warnings


def test_a_sound_baseline_has_its_median_and_no_warnings() -> None:
    samples = _spread_over_days(14, 2)
    result = assess_baseline(BENCHMARK, samples, window_end=END)
    assert result.warnings == ()
    assert result.n == 28
    assert result.value == pytest.approx(float(np.median([s.value for s in samples])))
    assert result.summary is not None and result.summary.n == 28
    assert (result.window_start, result.window_end) == (END - timedelta(days=14), END)


def test_too_few_samples() -> None:
    _, warnings = _assess(_spread_over_days(12, 1))
    assert warnings == ("12 samples; at least 20 are needed for a stable baseline",)


def test_no_samples_at_all() -> None:
    value, warnings = _assess([_sample(END - timedelta(days=20), 300.0)])
    assert value is None
    assert warnings == ("no samples in the window; at least 20 are needed for a stable baseline",)


def test_samples_only_outside_peak_hours_may_flatter_the_baseline() -> None:
    _, warnings = _assess(_spread_over_days(14, 2, hour=2))
    assert warnings == (
        "no sample falls in peak hours (09:00-18:00 on weekdays); the baseline may be optimistic",
    )


def test_peak_hours_are_read_in_local_time() -> None:
    # 02:00 UTC is 11:00 in UTC+9: inside office hours there.
    _, warnings = _assess(_spread_over_days(14, 2, hour=2), utc_offset_hours=9)
    assert warnings == ()


def test_weekend_only_samples_miss_the_weekday_peak() -> None:
    weekend = [s for s in _spread_over_days(14, 6) if s.at.weekday() >= 5]
    _, warnings = _assess(weekend)
    assert any("peak hours" in warning for warning in warnings)


def test_samples_bunched_on_few_days() -> None:
    _, warnings = _assess(_spread_over_days(3, 8))
    assert warnings == (
        "samples fall on 3 of the window's 14 days; a baseline should cover at least half of them",
    )


def test_a_wide_spread_is_called_out() -> None:
    rng = random.Random(1)
    samples = [_sample(s.at, rng.choice([20.0, 60.0, 900.0, 1500.0])) for s in _spread_over_days(14, 2)]
    _, warnings = _assess(samples)
    assert len(warnings) == 1
    assert warnings[0].startswith("the spread is wide: the interquartile range (")
    assert "is larger than the median" in warnings[0]


def test_experiment_samples_never_count() -> None:
    samples = _spread_over_days(14, 2)
    tagged = [_sample(s.at, 10.0, experiment="exp-1") for s in samples]
    plain = assess_baseline(BENCHMARK, samples, window_end=END)
    mixed = assess_baseline(BENCHMARK, samples + tagged, window_end=END)
    assert (mixed.value, mixed.n) == (plain.value, plain.n)


def test_bad_peak_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="peak hours"):
        assess_baseline(BENCHMARK, [], window_end=END, peak_hours=(18, 9))
