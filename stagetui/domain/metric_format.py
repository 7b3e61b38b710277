"""Metric values in their units, for people: durations, shares, money per day, counts."""

from __future__ import annotations

from stagetui.domain.benchmarks import Aggregation
from stagetui.domain.durations import format_duration

SECONDS_METRICS = frozenset({"provision.total_seconds", "provision.step_seconds", "data.age_seconds"})
SHARE_METRICS = frozenset({"tests.pass_rate"})


def format_metric(metric: str, value: float | None, aggregation: Aggregation = Aggregation.MEDIAN) -> str:
    if value is None:
        return "-"
    if aggregation is Aggregation.SHARE_UNDER or metric in SHARE_METRICS:
        return f"{value:.0%}"
    if metric in SECONDS_METRICS:
        return format_duration(value)
    if metric == "cost.per_day":
        return f"{value:.2f}/day"
    return f"{value:g}"


def format_bytes(count: float) -> str:
    """Binary units, one decimal from KiB up: 512 B, 1.5 KiB, 38.2 MiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
