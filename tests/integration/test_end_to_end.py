"""The CLI end to end on the local runtime: real processes, real SQLite files, real HTTP health checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import cli, column_values, get_json, processes_of

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("strategy", ["full_clone", "snapshot", "containerized"])
def test_up_show_down_leaves_nothing_behind(strategy: str, small_config: Path, state_dir: Path) -> None:
    up = cli(small_config, "up", "feat/e2e", "--strategy", strategy, "--json")
    assert up.code == 0, up.stderr
    env = up.json()
    assert env["status"] == "ready" and env["strategy"] == strategy
    assert all(s["outcome"] in {"ok", "skipped"} and s["seconds"] >= 0 for s in env["steps"])
    assert {"provision_runtime", "start_services", "health_check", "check_drift"} <= {
        s["name"] for s in env["steps"]
    }
    assert env["provision_seconds"] > 0
    assert env["freshness"]["status"] == "fresh" and env["freshness"]["age_seconds"] is not None
    assert {c["kind"] for c in env["checks"]} >= {"integrity", "drift"}
    assert env["orphans"] == 0

    health = get_json(f"{env['endpoint']}/health")
    stats = get_json(f"{env['endpoint']}/stats")
    assert health["status"] == "ok" and health["env_id"] == env["id"]
    production = state_dir / "sample" / "production.db"
    workspace = state_dir / "environments" / env["id"]
    database = workspace / "data" / "app.db"
    if strategy == "containerized":
        assert 0 < stats["tables"]["customers"] < 400
        assert env["drift"]["unapproved"] > 0 and env["drift"]["worst"] == "critical"
    else:
        assert stats["tables"]["customers"] == 400
        assert env["drift"] == {"unapproved": 0, "worst": None, "approved": 1}

    original = column_values(production, "customers", "email")
    masked = column_values(database, "customers", "email")
    assert masked and not masked & original
    raw = database.read_bytes()
    assert not [email for email in sorted(original)[:50] if email.encode() in raw]
    rendered = (workspace / "config" / "config.json").read_text()
    assert "sk_live" not in rendered and "fake-production-session-secret" not in rendered

    shown = cli(small_config, "show", "feat/e2e", "--json")
    assert shown.code == 0 and shown.json()["id"] == env["id"]
    assert [s["name"] for s in shown.json()["steps"]] == [s["name"] for s in env["steps"]]
    assert processes_of(env["id"])

    down = cli(small_config, "down", env["id"], "--json")
    assert down.code == 0, down.stderr
    assert not workspace.exists() and not processes_of(env["id"])
    assert cli(small_config, "ls", "--json").json() == []
    history = cli(small_config, "ls", "--all", "--json").json()
    assert [(e["id"], e["status"]) for e in history] == [(env["id"], "torn_down")]


def test_demo_provisions_every_strategy_and_rerun_replaces_them(small_config: Path, state_dir: Path) -> None:
    first = cli(small_config, "demo", "--json")
    assert first.code == 0, first.stderr
    ids = sorted(e["id"] for e in first.json())
    assert len(ids) == 3 and all(e["status"] == "ready" for e in first.json())
    second = cli(small_config, "demo", "--json")
    assert second.code == 0, second.stderr
    assert sorted(e["id"] for e in second.json()) == ids
    live = cli(small_config, "ls", "--json").json()
    assert sorted(e["id"] for e in live) == ids
    for env_id in ids:
        assert cli(small_config, "down", env_id).code == 0


def test_human_output_shows_step_timings_and_hints(small_config: Path, state_dir: Path) -> None:
    up = cli(small_config, "up", "feat/human", "--strategy", "containerized")
    assert up.code == 0, up.stderr
    assert (
        "subset_data" in up.stdout and "check_drift" in up.stdout and "drift against production:" in up.stdout
    )
    assert "✓" in up.stderr and "stagetui down" in up.stderr
    listing = cli(small_config, "ls")
    assert "feat-human-ctr-" in listing.stdout and "ready" in listing.stdout
    assert cli(small_config, "down", "feat/human").code == 0


def test_audit_trail_records_data_access_and_masking(small_config: Path, state_dir: Path) -> None:
    up = cli(small_config, "up", "audit", "--strategy", "full_clone", "--json")
    assert up.code == 0, up.stderr
    entries = []
    for path in (state_dir / "store" / "history").glob("audit-*.json"):
        entries += json.loads(path.read_text())["records"].values()
    actions = {entry["action"] for entry in entries}
    assert {"generate", "read", "mask", "verify-masking", "provision"} <= actions
    assert cli(small_config, "down", "audit").code == 0
