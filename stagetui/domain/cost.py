"""What an environment costs: compute per hour by strategy plus storage for its data, from a price list in
the config (estimates, to compare strategies; not a bill)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stagetui.domain.models import Environment, Strategy

HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class CostModel:
    currency: str
    hourly: Mapping[Strategy, float]
    """Compute price per environment-hour, by strategy."""
    storage_gb_month: float
    """Storage price per GB of environment data per month."""

    def hourly_rate(self, env: Environment) -> float:
        storage = (env.data_bytes or 0) / 1e9 * self.storage_gb_month / HOURS_PER_MONTH
        return self.hourly.get(env.strategy, 0.0) + storage

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
