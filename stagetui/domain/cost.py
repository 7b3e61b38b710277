"""What an environment costs: compute per hour by runtime and strategy plus storage for its data, from a
price list in the config (estimates, to compare strategies; not a bill), and spend against budgets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from stagetui.domain.models import Environment, Strategy

HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class CostModel:
    currency: str
    hourly: Mapping[str, Mapping[Strategy, float]]
    """Compute price per environment-hour, by runtime, then strategy."""
    storage_gb_month: float
    """Storage price per GB of environment data per month."""

    def hourly_rate(self, env: Environment) -> float:
        if env.hourly_cost is not None:  # estimated from its actual resources (storage included)
            return env.hourly_cost
        storage = (env.data_bytes or 0) / 1e9 * self.storage_gb_month / HOURS_PER_MONTH
        return self.hourly.get(env.runtime, {}).get(env.strategy, 0.0) + storage

    def per_day(self, env: Environment) -> float:
        return 24 * self.hourly_rate(env)


def lifetime(env: Environment, now: datetime) -> timedelta:
    """How long it has existed: until now while live, until its last update once it ended."""
    end = now if env.status.is_live else (env.updated_at or now)
    return max(end - env.created_at, timedelta(0))


def cost_so_far(env: Environment, now: datetime, model: CostModel) -> float:
    return lifetime(env, now).total_seconds() / 3600 * model.hourly_rate(env)


def format_money(amount: float, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency.upper())
    text = f"{amount:,.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.3f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def accrued_between(
    env: Environment, start: datetime, end: datetime, now: datetime, model: CostModel
) -> float:
    """What the environment cost inside [start, end): the overlap of its lifetime with the period."""
    alive_until = env.created_at + lifetime(env, now)
    overlap = min(end, alive_until) - max(start, env.created_at)
    return max(overlap.total_seconds(), 0.0) / 3600 * model.hourly_rate(env)


class BudgetState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    OVER = "over"


@dataclass(frozen=True)
class BudgetStatus:
    period: str
    """"day" or "month" (calendar, UTC)."""
    spent: float
    limit: float
    state: BudgetState

    @property
    def share(self) -> float:
        return self.spent / self.limit if self.limit else 0.0


def period_start(period: str, now: datetime) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


def budget_status(
    envs: Iterable[Environment], now: datetime, model: CostModel, limits: Mapping[str, float], warn_at: float
) -> list[BudgetStatus]:
    """Spend so far in the current day and month against each configured limit."""
    everything = list(envs)
    statuses = []
    for period, limit in limits.items():
        start = period_start(period, now)
        spent = sum(accrued_between(env, start, now, now, model) for env in everything)
        state = (
            BudgetState.OVER
            if spent > limit
            else BudgetState.WARNING
            if spent >= warn_at * limit
            else BudgetState.OK
        )
        statuses.append(BudgetStatus(period, spent, limit, state))
    return statuses
