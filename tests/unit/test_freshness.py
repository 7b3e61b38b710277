from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stagetui.domain.freshness import FreshnessStatus, assess_freshness

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_status_by_share_of_the_target() -> None:
    day = timedelta(hours=24)
    assert assess_freshness(NOW - timedelta(hours=2), day, NOW).status is FreshnessStatus.FRESH
    assert assess_freshness(NOW - timedelta(hours=20), day, NOW).status is FreshnessStatus.AGING
    stale = assess_freshness(NOW - timedelta(hours=30), day, NOW)
    assert stale.status is FreshnessStatus.STALE
    assert stale.share_of_target == 1.25


def test_unknown_without_an_as_of_time_and_no_negative_ages() -> None:
    assert assess_freshness(None, timedelta(hours=1), NOW).status is FreshnessStatus.UNKNOWN
    assert assess_freshness(NOW + timedelta(minutes=5), timedelta(hours=1), NOW).age == timedelta(0)
