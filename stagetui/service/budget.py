"""Spend against the configured budgets, over every environment's lifetime in the period."""

from __future__ import annotations

from datetime import datetime

from stagetui.domain.cost import BudgetStatus, budget_status
from stagetui.service.core import ServiceCore


def budgets(core: ServiceCore, now: datetime | None = None) -> list[BudgetStatus]:
    settings = core.config.cost.budgets
    limits = {
        period: limit for period, limit in (("day", settings.daily), ("month", settings.monthly)) if limit
    }
    if not limits:
        return []
    now = now or core.clock()
    return budget_status(core.store.environments(), now, core.cost_model, limits, settings.warn_at)
