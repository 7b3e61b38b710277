from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stagetui.domain.models import (
    AuditEntry,
    Environment,
    EnvironmentStatus,
    MetricSample,
    StepOutcome,
    StepPhase,
    StepRecord,
    Strategy,
)
from stagetui.store.storage import StoreCorruptedError
from stagetui.store.store import Store, StoreVersionError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_env(uid: str = "u1", env_id: str = "feat-x-ctr-12345") -> Environment:
    return Environment(
        uid=uid,
        id=env_id,
        branch="feat/x",
        strategy=Strategy.CONTAINERIZED,
        runtime="local",
        owner="alice",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=8),
        status=EnvironmentStatus.READY,
        max_data_age=timedelta(hours=24),
        data_as_of=NOW,
    )


def test_environments_round_trip_and_upsert(tmp_path: Path) -> None:
    store = Store(tmp_path)
    env = make_env()
    store.save_environment(env)
    env.status = EnvironmentStatus.TORN_DOWN
    store.save_environment(env)
    assert Store(tmp_path).environments() == [env]
    assert store.environment("u1") == env and store.environment("nope") is None


def test_history_is_partitioned_by_month_and_filtered(tmp_path: Path) -> None:
    store = Store(tmp_path)
    october = NOW - timedelta(days=40)
    steps = [
        StepRecord(
            "u1", "e", "a", StepPhase.PROVISION, october, october + timedelta(seconds=1), StepOutcome.OK
        ),
        StepRecord(
            "u1", "e", "b", StepPhase.PROVISION, NOW, NOW + timedelta(seconds=2), StepOutcome.FAILED, "x"
        ),
        StepRecord("u2", "f", "a", StepPhase.PROVISION, NOW, NOW, StepOutcome.OK),
    ]
    store.add_steps(steps)
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == [
        "steps-2026-10.json",
        "steps-2026-11.json",
    ]
    assert store.steps("u1") == steps[:2]
    assert store.steps("u1", since=NOW - timedelta(days=1)) == steps[1:2]
    samples = [
        MetricSample(NOW, "provision.total_seconds", float(i), "u1", "e", Strategy.SNAPSHOT, "local", "b")
        for i in range(1000)
    ]
    store.add_metrics(samples)
    assert len(store.metrics(metric="provision.total_seconds")) == 1000
    store.audit(AuditEntry(NOW, "alice", "read", "production.db", "backup", "e"))
    assert store.audit_trail()[0].action == "read"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(StoreVersionError, match="schema 99"):
        Store(tmp_path)


def test_a_corrupted_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_environment(make_env())
    path = tmp_path / "environments.json"
    path.write_text('{"records": {"1": ')
    with pytest.raises(StoreCorruptedError, match=r"environments\.json:1"):
        store.save_environment(make_env("u2"))
    assert path.read_text() == '{"records": {"1": '


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for i in range(5):
        store.save_environment(make_env(f"u{i}"))
    assert not [p for p in tmp_path.rglob("*.tmp")]


def _writer(directory: str, worker: int) -> None:
    store = Store(Path(directory))
    for i in range(15):
        store.save_environment(make_env(f"w{worker}-{i}", f"env-{worker}-{i}"))
        store.add_steps(
            [StepRecord(f"w{worker}-{i}", "e", "s", StepPhase.PROVISION, NOW, NOW, StepOutcome.OK)]
        )


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(tmp_path), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    store = Store(tmp_path)
    assert len(store.environments()) == 60
    assert sum(len(store.steps(f"w{w}-{i}")) for w in range(4) for i in range(15)) == 60
