"""Golden copies on SQLite files: full builds, incremental refreshes, their fallbacks, provenance, pruning."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stagetui.data.engine import DataLocation
from stagetui.data.golden_store import GoldenStore
from stagetui.data.production import ProductionSource
from stagetui.data.sqlite_engine import SqliteEngine
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind
from stagetui.sample.generator import SampleSpec, generate_production_db, write_production_config
from stagetui.strategies.golden import GoldenSource, refresh_golden
from stagetui.strategies.rule_coverage import UncoveredColumnsError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = (
    ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
    ColumnRule("customers", "full_name", MaskKind.FAKE_NAME),
    ColumnRule("payments", "payer_email", MaskKind.FAKE_EMAIL),
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture()
def source(tmp_path: Path) -> GoldenSource:
    database = tmp_path / "production.db"
    generate_production_db(database, SampleSpec(customers=50, seed=3, now=NOW))
    write_production_config(tmp_path / "production_config")
    production = ProductionSource(
        DataLocation.sqlite(database), tmp_path / "production_config", None, False, tmp_path / "lock"
    )
    return GoldenSource(
        production, SqliteEngine(), RULES, Masker(b"golden-test-key-0123456"), Clock(), strict=False
    )


def write(source: GoldenSource, statement: str) -> None:
    with closing(sqlite3.connect(source.production.database)) as conn, conn:
        conn.execute(statement)


def rows(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM customers ORDER BY id").fetchall()


def test_first_refresh_is_full_and_records_provenance(source: GoldenSource, tmp_path: Path) -> None:
    store = GoldenStore(tmp_path / "golden")
    result = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=2)
    snapshot = result.snapshot
    assert result.refreshed and snapshot.method == "full" and snapshot.newest_change is not None
    provenance = SqliteEngine().read_provenance(snapshot.location(None))
    assert provenance is not None and provenance["rules_fingerprint"] == snapshot.rules_fingerprint
    again = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=2)
    assert not again.refreshed and again.snapshot.id == snapshot.id


def test_a_stale_golden_copy_is_refreshed_incrementally_like_a_full_one(
    source: GoldenSource, tmp_path: Path
) -> None:
    store = GoldenStore(tmp_path / "golden")
    first = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=3).snapshot
    later = (NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write(source, f"UPDATE customers SET email = 'new@example.org', updated_at = '{later}' WHERE id = 4")
    source.clock.now += timedelta(hours=2)  # type: ignore[attr-defined]
    second = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=3)
    assert second.refreshed and second.snapshot.method == "incremental" and second.snapshot.parent == first.id
    assert second.snapshot.newest_change == NOW + timedelta(hours=2)
    full = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=3, force=True).snapshot
    assert full.method == "full"
    assert rows(second.snapshot.database) == rows(full.database)
    assert rows(first.database) != rows(full.database)


def test_an_unsafe_incremental_refresh_falls_back_to_a_full_one(source: GoldenSource, tmp_path: Path) -> None:
    store = GoldenStore(tmp_path / "golden")
    refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=2)
    write(source, "ALTER TABLE customers ADD COLUMN nickname TEXT")
    source.clock.now += timedelta(hours=2)  # type: ignore[attr-defined]
    result = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=2)
    assert result.snapshot.method == "full"
    assert result.fallback == "the columns of customers changed in production"


def test_changed_rules_rebuild_in_full_and_old_copies_are_pruned(
    source: GoldenSource, tmp_path: Path
) -> None:
    store = GoldenStore(tmp_path / "golden")
    first = refresh_golden(store, source, refresh_after=timedelta(hours=1), keep=1).snapshot
    changed = replace(source, rules=(*RULES, ColumnRule("customers", "phone", MaskKind.FAKE_PHONE)))
    result = refresh_golden(store, changed, refresh_after=timedelta(hours=1), keep=1)
    assert result.reason == "masking rules changed" and result.snapshot.method == "full"
    assert result.pruned == (first.id,) and not first.directory.exists()


def test_strict_mode_refuses_before_anything_is_copied(source: GoldenSource, tmp_path: Path) -> None:
    store = GoldenStore(tmp_path / "golden")
    with pytest.raises(UncoveredColumnsError, match=r"customers\.id, customers\.phone"):
        refresh_golden(store, replace(source, strict=True), refresh_after=None, keep=1)
    assert store.snapshots() == [] and not any(store.root.glob(".building-*"))


def test_a_rule_naming_a_missing_column_is_refused(source: GoldenSource, tmp_path: Path) -> None:
    bad = replace(source, rules=(ColumnRule("customers", "ssn", MaskKind.HASH),))
    with pytest.raises(
        ValueError, match=r"anonymization.tables.customers.ssn: production's customers has no"
    ):
        refresh_golden(GoldenStore(tmp_path / "golden"), bad, refresh_after=None, keep=1)
