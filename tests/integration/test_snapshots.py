"""Golden snapshots: reused while fresh, rebuilt when stale, forced, or the masking rules change."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stagetui.config import load_config
from stagetui.domain.freshness import FreshnessStatus
from stagetui.domain.models import StepOutcome
from stagetui.service.api import StagetuiService

pytestmark = pytest.mark.integration


class FrozenClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _outcome(service: StagetuiService, uid: str, step: str) -> StepOutcome:
    return next(s.outcome for s in service.core.store.steps(uid) if s.name == step)


def test_snapshot_environments_share_a_golden_until_it_is_stale(small_config: Path, state_dir: Path) -> None:
    clock = FrozenClock()
    service = StagetuiService.open(load_config(small_config), clock=clock)
    first = asyncio.run(service.up(service.up_request("one", strategy="snapshot")))
    second = asyncio.run(service.up(service.up_request("two", strategy="snapshot")))
    assert first.ok and second.ok
    assert _outcome(service, first.environment.uid, "ensure_snapshot") is StepOutcome.OK
    assert _outcome(service, second.environment.uid, "ensure_snapshot") is StepOutcome.SKIPPED
    golden = service.snapshots()
    assert len(golden) == 1
    assert first.environment.data_as_of == second.environment.data_as_of == golden[0].taken_at

    clock.now += timedelta(hours=30)  # past refresh_after (24h), within max_data_age (36h) but aging
    view = next(v for v in service.environments() if v.environment.id == second.environment.id)
    assert view.freshness.status is FreshnessStatus.AGING
    third = asyncio.run(service.up(service.up_request("three", strategy="snapshot")))
    assert _outcome(service, third.environment.uid, "ensure_snapshot") is StepOutcome.OK
    assert third.environment.data_as_of == clock.now
    clock.now += timedelta(hours=10)
    view = next(v for v in service.environments() if v.environment.id == first.environment.id)
    assert view.freshness.status is FreshnessStatus.STALE
    for result in (first, second, third):
        asyncio.run(service.down(result.environment.id))


def test_refresh_force_prunes_and_rule_changes_rebuild(small_config: Path, state_dir: Path) -> None:
    service = StagetuiService.open(load_config(small_config))
    built = asyncio.run(service.refresh_snapshot())
    assert built.refreshed and built.reason == "no golden copy yet"
    assert not asyncio.run(service.refresh_snapshot()).refreshed
    for _ in range(2):
        assert asyncio.run(service.refresh_snapshot(force=True)).refreshed
    assert len(service.snapshots()) == 2  # keep: 2
    assert built.snapshot.id not in {s.id for s in service.snapshots()}
    assert not list((state_dir / "snapshots").glob(".building-*"))

    changed = small_config.read_text().replace("phone: fake_phone", "phone: hash")
    small_config.write_text(changed)
    rebuilt = asyncio.run(StagetuiService.open(load_config(small_config)).refresh_snapshot())
    assert rebuilt.refreshed and rebuilt.reason == "masking rules changed"


def test_snapshot_refresh_cli_reports_progress_and_json(small_config: Path, state_dir: Path) -> None:
    from tests.integration.helpers import cli

    result = cli(small_config, "snapshot", "refresh", "--json")
    assert result.code == 0, result.stderr
    payload = result.json()
    assert payload["refreshed"] and payload["snapshot"]["orphans"] == 0
    assert "no leaks" in payload["snapshot"]["masking_summary"]
    listing = cli(small_config, "snapshot", "ls", "--json").json()
    assert [s["id"] for s in listing] == [payload["snapshot"]["id"]]
    raw = (state_dir / "snapshots" / payload["snapshot"]["id"] / "production_config.json").read_text()
    assert "sk_live" not in raw and "***" in raw
