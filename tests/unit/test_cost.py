from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stagetui.domain.cost import (
    BudgetState,
    CostModel,
    accrued_between,
    budget_status,
    cost_so_far,
    format_money,
)
from stagetui.domain.models import Environment, EnvironmentStatus, Strategy

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
MODEL = CostModel(
    "USD", {"local": {Strategy.FULL_CLONE: 1.0, Strategy.CONTAINERIZED: 0.1}}, storage_gb_month=7.3
)


def env(
    strategy: Strategy = Strategy.FULL_CLONE, hours: float = 10, ended: float | None = None
) -> Environment:
    status = EnvironmentStatus.READY if ended is None else EnvironmentStatus.TORN_DOWN
    return Environment(
        f"u-{strategy.value}-{hours}",
        "e",
        "b",
        strategy,
        "local",
        "o",
        START,
        START + timedelta(hours=hours),
        status,
        data_bytes=10**9,
        updated_at=START + timedelta(hours=ended) if ended is not None else None,
    )


def test_cost_accrues_per_hour_with_storage_and_stops_when_torn_down() -> None:
    live = env()
    # 1.0/h compute + 1 GB at 7.3 per GB-month (730 h) = 0.01/h
    assert cost_so_far(live, START + timedelta(hours=3), MODEL) == pytest.approx(3 * 1.01)
    ended = env(ended=2)
    assert cost_so_far(ended, START + timedelta(hours=30), MODEL) == pytest.approx(2 * 1.01)
    assert MODEL.per_day(live) == pytest.approx(24 * 1.01)
    unknown_runtime = Environment(
        "u", "e", "b", Strategy.SNAPSHOT, "aws", "o", START, START, EnvironmentStatus.READY
    )
    assert MODEL.hourly_rate(unknown_runtime) == 0.0


def test_accrual_is_the_overlap_with_the_period_over_simulated_days() -> None:
    live = env(Strategy.CONTAINERIZED)
    day_two = START.replace(hour=0) + timedelta(days=1)
    now = START + timedelta(days=2, hours=6)
    rate = MODEL.hourly_rate(live)
    assert accrued_between(live, START - timedelta(days=1), START, now, MODEL) == 0
    assert accrued_between(live, day_two, day_two + timedelta(days=1), now, MODEL) == pytest.approx(24 * rate)
    assert accrued_between(live, START, now, now, MODEL) == pytest.approx(54 * rate)


def test_budget_states_warn_then_exceed() -> None:
    envs = [env(), env(Strategy.CONTAINERIZED)]
    noon = START.replace(hour=12)
    statuses = budget_status(envs, noon, MODEL, {"day": 10.0, "month": 100.0}, warn_at=0.8)
    by_period = {s.period: s for s in statuses}
    assert by_period["day"].spent == pytest.approx(
        4 * MODEL.hourly_rate(envs[0]) + 4 * MODEL.hourly_rate(envs[1])
    )
    assert by_period["day"].state is BudgetState.OK
    later = START.replace(hour=16)
    assert budget_status(envs, later, MODEL, {"day": 10.0}, 0.8)[0].state is BudgetState.WARNING
    evening = START.replace(hour=20)
    over = budget_status(envs, evening, MODEL, {"day": 10.0}, 0.8)[0]
    assert over.state is BudgetState.OVER and over.share > 1


def test_money() -> None:
    assert format_money(1234.5, "USD") == "$1,234.50"
    assert format_money(0.004, "EUR") == "€0.004"
    assert format_money(3, "CHF") == "3.00 CHF"
