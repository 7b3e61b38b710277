"""Baselines: what a benchmark read before a change, and whether that reading can be trusted."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from stagetui.domain.benchmarks import Benchmark, aggregate, select
from stagetui.domain.models import MetricSample
from stagetui.domain.statistics import Summary, summarize

WEEKDAYS = (0, 1, 2, 3, 4)
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class BaselineAssessment:
    value: float | None
    """The benchmark's aggregation over the window; None without samples."""
    n: int
    summary: Summary | None
    window_start: datetime
    window_end: datetime
    warnings: tuple[str, ...]
    """Plain sentences on why the value may mislead; empty when it looks sound."""

    @property
    def trustworthy(self) -> bool:
        return self.value is not None and not self.warnings


def _local(at: datetime, utc_offset_hours: int) -> datetime:
    # Naive times are taken as UTC (as the store writes them) rather than as the machine's local time,
    # which would make the result depend on where it runs.
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware + timedelta(hours=utc_offset_hours)


def _days_label(days: tuple[int, ...]) -> str:
    return "weekdays" if tuple(sorted(days)) == WEEKDAYS else ", ".join(_DAY_NAMES[d] for d in sorted(days))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def assess_baseline(
    benchmark: Benchmark,
    samples: Iterable[MetricSample],
    *,
    window_end: datetime,
    window: timedelta = timedelta(days=14),
    min_samples: int = 20,
    peak_hours: tuple[int, int] = (9, 18),
    peak_days: tuple[int, ...] = WEEKDAYS,
    utc_offset_hours: int = 0,
) -> BaselineAssessment:
    """The benchmark over [window_end - window, window_end), experiment samples never included.

    Peak hours are [start, end) in local time (UTC + `utc_offset_hours`) on `peak_days` (0 = Monday):
    a baseline measured only at night, when machines are idle, flatters every later comparison.
    """
    if window <= timedelta(0):
        raise ValueError("the baseline window must be positive")
    start_hour, end_hour = peak_hours
    if not 0 <= start_hour < end_hour <= 24:
        raise ValueError(f"peak hours must satisfy 0 <= start < end <= 24, got {peak_hours}")
    if not peak_days or not all(0 <= day <= 6 for day in peak_days):
        raise ValueError(f"peak days are weekday numbers 0 (Monday) to 6, got {peak_days}")
    window_start = window_end - window
    chosen = select(samples, benchmark, window_start, window_end)
    values = [sample.value for sample in chosen]
    if not values:
        warning = f"no samples in the window; at least {min_samples} are needed for a stable baseline"
        return BaselineAssessment(None, 0, None, window_start, window_end, (warning,))
    summary = summarize(values)
    warnings: list[str] = []
    if len(values) < min_samples:
        warnings.append(
            f"{_plural(len(values), 'sample')}; at least {min_samples} are needed for a stable baseline"
        )
    local_times = [_local(sample.at, utc_offset_hours) for sample in chosen]
    if not any(t.weekday() in peak_days and start_hour <= t.hour < end_hour for t in local_times):
        warnings.append(
            f"no sample falls in peak hours ({start_hour:02d}:00-{end_hour:02d}:00 on "
            f"{_days_label(peak_days)}); the baseline may be optimistic"
        )
    days_in_window = math.ceil(window / timedelta(days=1))
    covered = len({t.date() for t in local_times})
    if covered * 2 < days_in_window:
        warnings.append(
            f"samples fall on {covered} of the window's {_plural(days_in_window, 'day')}; "
            "a baseline should cover at least half of them"
        )
    if summary.iqr > summary.median:
        warnings.append(
            f"the spread is wide: the interquartile range ({summary.iqr:g}) is larger than the median "
            f"({summary.median:g}), so only large changes will stand out"
        )
    value = aggregate(values, benchmark.aggregation, benchmark.limit)
    return BaselineAssessment(value, len(values), summary, window_start, window_end, tuple(warnings))
