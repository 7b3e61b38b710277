"""The store's in-memory cache of parsed files and its chunked history: what one process reads must follow
what another writes, and a chunk once full is never rewritten."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tinydb import TinyDB

from stagetui.domain.models import EnvironmentStatus, MetricSample, Strategy
from stagetui.store import files as files_module
from stagetui.store import history
from stagetui.store.storage import StoreCorruptedError
from stagetui.store.store import Store
from tests.unit.test_store import make_env

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def samples(count: int, at: datetime = NOW, metric: str = "provision.total_seconds") -> list[MetricSample]:
    return [
        MetricSample(at, metric, float(i), f"u{i}", "e", Strategy.SNAPSHOT, "local", "b")
        for i in range(count)
    ]


def identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def _add_from_another_process(directory: str) -> None:
    store = Store(Path(directory))
    store.add_metrics(samples(3, metric="drift.unapproved"))
    env = store.environment("u1")
    assert env is not None
    store.save_environment(replace(env, status=EnvironmentStatus.FAILED))


def test_a_write_by_another_process_is_seen_on_the_next_read(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_environment(make_env())
    store.add_metrics(samples(5))
    assert len(store.metrics()) == 5 and store.environments()[0].status is EnvironmentStatus.READY
    worker = multiprocessing.get_context("spawn").Process(
        target=_add_from_another_process, args=(str(tmp_path),)
    )
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0
    assert len(store.metrics()) == 8 and len(store.metrics(metric="drift.unapproved")) == 3
    assert [e.status for e in store.environments()] == [EnvironmentStatus.FAILED]
    assert store.environment("u1") == store.environments()[0]


def test_a_same_size_rewrite_by_another_store_is_seen(tmp_path: Path) -> None:
    mine, theirs = Store(tmp_path), Store(tmp_path)
    mine.save_environment(make_env())
    assert mine.environments()[0].status_detail == ""
    theirs.save_environment(replace(make_env(), status_detail="aaaa"))
    assert mine.environments()[0].status_detail == "aaaa"
    theirs.save_environment(replace(make_env(), status_detail="bbbb"))  # same size, new file
    assert mine.environments()[0].status_detail == "bbbb"


def test_history_fills_chunks_and_never_rewrites_a_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "CHUNK_RECORDS", 4)
    store = Store(tmp_path)
    store.add_metrics(samples(6))
    names = sorted(p.name for p in (tmp_path / "history").iterdir())
    assert names == ["metrics-2026-11.json", "metrics-2026-11.part0001.json"]
    first = identity(tmp_path / "history" / names[0])
    store.add_metrics(samples(5, NOW + timedelta(seconds=1)))
    assert identity(tmp_path / "history" / names[0]) == first
    assert len(list((tmp_path / "history").iterdir())) == 3
    assert len(store.metrics(since=NOW)) == 11 and len(Store(tmp_path).metrics(since=NOW)) == 11
    assert len(store.metrics(since=NOW + timedelta(seconds=1))) == 5
    assert store.metrics(since=NOW + timedelta(days=10)) == []


def test_an_oversized_file_of_an_older_version_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.add_metrics(samples(10))  # one file, as older versions wrote it
    legacy = tmp_path / "history" / "metrics-2026-11.json"
    before = identity(legacy)
    monkeypatch.setattr(history, "CHUNK_RECORDS", 4)
    store.add_metrics(samples(2))
    assert identity(legacy) == before
    assert (tmp_path / "history" / "metrics-2026-11.part0001.json").exists()
    assert len(Store(tmp_path).metrics()) == 12


def test_what_a_caller_changes_stays_out_of_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_environment(make_env())
    store.add_metrics(samples(3))
    env = store.environments()[0]
    env.status = EnvironmentStatus.TORN_DOWN
    env.labels["x"] = "y"
    store.metrics().clear()
    assert store.environments()[0] == make_env() and len(store.metrics()) == 3


def test_a_failed_write_changes_nothing_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    store.save_environment(make_env())
    store.add_metrics(samples(2))

    def full_disk(path: Path, text: str, mode: int = 0o644) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(files_module, "atomic_write_text", full_disk)
    with pytest.raises(OSError):
        store.add_metrics(samples(1))
    with pytest.raises(OSError):
        store.save_environment(make_env("u2"))
    assert len(store.metrics()) == 2 and [e.uid for e in store.environments()] == ["u1"]


def test_a_corrupted_chunk_is_reported_and_left_untouched(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_metrics(samples(2))
    path = tmp_path / "history" / "metrics-2026-11.json"
    path.write_text('{"records": {"1": ')
    with pytest.raises(StoreCorruptedError, match=r"metrics-2026-11\.json:1"):
        store.metrics()
    with pytest.raises(StoreCorruptedError):
        store.add_metrics(samples(1))
    assert path.read_text() == '{"records": {"1": '


def test_tinydb_reads_what_the_store_writes(tmp_path: Path) -> None:
    """Files stay TinyDB documents, byte for byte what TinyDB's own JSON dump (sorted keys) gives."""
    store = Store(tmp_path)
    store.save_environment(make_env())
    store.save_environment(make_env("u2"))
    store.save_environment(replace(make_env(), status=EnvironmentStatus.FAILED))
    path = tmp_path / "environments.json"
    text = path.read_text()
    assert text == json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True)
    table = TinyDB(str(path)).table("records")
    assert [(d.doc_id, d["uid"], d["status"]) for d in table.all()] == [
        (1, "u1", "failed"),
        (2, "u2", "ready"),
    ]


def test_this_process_lists_in_the_order_a_fresh_read_gives(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for i in range(12):  # past ten: document ids "10", "11" sort before "2" in the file
        store.save_environment(make_env(f"u{i}", f"env-{i}"))
    store.add_metrics(samples(12))
    store.add_metrics(samples(1))
    fresh = Store(tmp_path)
    assert [e.uid for e in store.environments()] == [e.uid for e in fresh.environments()]
    assert store.metrics() == fresh.metrics()
