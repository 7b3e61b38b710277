"""Data freshness: how old an environment's data is against its max-age target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class FreshnessStatus(StrEnum):
    FRESH = "fresh"
    AGING = "aging"
    """Older than 75% of the target: the snapshot will need a refresh soon."""
    STALE = "stale"
    UNKNOWN = "unknown"
    """No as-of time (synthetic data, or not provisioned yet)."""


AGING_SHARE = 0.75


@dataclass(frozen=True)
class Freshness:
    as_of: datetime | None
    age: timedelta | None
    max_age: timedelta | None
    status: FreshnessStatus

    @property
    def share_of_target(self) -> float | None:
        """Age as a share of the max age (1.0 = exactly at the target)."""
        if self.age is None or not self.max_age:
            return None
        return self.age / self.max_age


def assess_freshness(as_of: datetime | None, max_age: timedelta | None, now: datetime) -> Freshness:
    """Pure: the clock is passed in, so screens and tests can freeze it."""
    if as_of is None:
        return Freshness(None, None, max_age, FreshnessStatus.UNKNOWN)
    age = max(now - as_of, timedelta(0))
    if max_age is None:
        return Freshness(as_of, age, None, FreshnessStatus.FRESH)
    if age > max_age:
        status = FreshnessStatus.STALE
    elif age > max_age * AGING_SHARE:
        status = FreshnessStatus.AGING
    else:
        status = FreshnessStatus.FRESH
    return Freshness(as_of, age, max_age, status)
