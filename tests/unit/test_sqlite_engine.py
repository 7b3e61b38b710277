"""The SQLite data engine on real files: filtered subsets, incremental changes, provenance, errors."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stagetui.data.engine import DataEngineError, DataLocation, IncrementalRefreshUnsafe
from stagetui.data.sqlite_engine import SqliteEngine
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind
from stagetui.domain.integrity import ForeignKey
from stagetui.sample.generator import SampleSpec, generate_production_db

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = (
    ColumnRule("customers", "full_name", MaskKind.FAKE_NAME),
    ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
    ColumnRule("customers", "phone", MaskKind.FAKE_PHONE),
    ColumnRule("customers", "birth_date", MaskKind.DATE_SHIFT),
    ColumnRule("orders", "shipping_address", MaskKind.FAKE_ADDRESS),
    ColumnRule("payments", "payer_email", MaskKind.FAKE_EMAIL),
)
MASKER = Masker(b"unit-test-key-0123456789")
ENGINE = SqliteEngine()


@pytest.fixture()
def production(tmp_path: Path) -> DataLocation:
    path = tmp_path / "production.db"
    generate_production_db(path, SampleSpec(customers=60, seed=5, now=NOW))
    return DataLocation.sqlite(path)


def masked_copy(production: DataLocation, path: Path) -> DataLocation:
    copy = DataLocation.sqlite(path)
    ENGINE.full_copy(production, copy)
    ENGINE.mask(copy, RULES, MASKER)
    return copy


def dump(db: DataLocation) -> dict[str, list[tuple[object, ...]]]:
    assert db.path is not None
    with closing(sqlite3.connect(db.path)) as conn:
        return {
            table: conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
            for table in ENGINE.tables(db)
        }


def write(db: DataLocation, *statements: str) -> None:
    assert db.path is not None
    with closing(sqlite3.connect(db.path)) as conn, conn:
        for statement in statements:
            conn.execute(statement)


def test_subset_with_a_filter_takes_only_matching_roots_and_keeps_foreign_keys(
    production: DataLocation, tmp_path: Path
) -> None:
    target = DataLocation.sqlite(tmp_path / "subset.db")
    report = ENGINE.subset(production, target, "customers", 1.0, seed=1, where="id % 3 = 0")
    sampled = {row[0] for row in dump(target)["customers"]}
    assert report.sampled == 20 and report.where == "id % 3 = 0"
    assert {i for i in sampled if i % 3 == 0} == set(range(3, 61, 3))
    integrity = ENGINE.integrity(target, ENGINE.foreign_keys(production))
    assert integrity.ok and integrity.checked


def test_subset_with_a_broken_filter_names_the_table_and_leaves_nothing(
    production: DataLocation, tmp_path: Path
) -> None:
    target = tmp_path / "subset.db"
    with pytest.raises(ValueError, match=r"subset filter on customers \(no_such_column = 1\)"):
        ENGINE.subset(
            production, DataLocation.sqlite(target), "customers", 0.5, 1, where="no_such_column = 1"
        )
    assert not target.exists() and list(tmp_path.iterdir()) == [production.path]


def test_incremental_changes_give_what_a_full_refresh_gives(production: DataLocation, tmp_path: Path) -> None:
    since = ENGINE.newest(production, "updated_at")
    assert since is not None and since <= NOW
    copy = masked_copy(production, tmp_path / "golden.db")
    later = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write(
        production,
        f"UPDATE customers SET email = 'changed@example.org', updated_at = '{later}' WHERE id = 7",
        "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 9)",
        "DELETE FROM payments WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 9)",
        "DELETE FROM orders WHERE customer_id = 9",
        "INSERT INTO customers (id, full_name, email, phone, address, city, country, birth_date, created_at, "
        "updated_at) VALUES (1000, 'New Person', 'new@example.org', '+1 555 0100', '1 Main St', 'Lyon', "
        f"'FR', '1990-01-01', '{later}', '{later}')",
    )
    report = ENGINE.apply_changes(copy, production, since, RULES, MASKER)
    assert report.deleted > 0 and report.upserted >= 2
    assert report.as_of == NOW + timedelta(hours=1)

    fresh = masked_copy(production, tmp_path / "fresh.db")
    assert dump(copy) == dump(fresh)
    assert ENGINE.verify_masking(copy, production, RULES).ok

    again = ENGINE.apply_changes(copy, production, report.as_of or since, RULES, MASKER)
    assert again.deleted == 0 and dump(copy) == dump(fresh)


def test_incremental_changes_are_refused_before_writing_when_a_table_cannot_be_tracked(
    production: DataLocation, tmp_path: Path
) -> None:
    copy = masked_copy(production, tmp_path / "golden.db")
    write(production, "CREATE TABLE settings (id INTEGER PRIMARY KEY, value TEXT)")
    write(copy, "CREATE TABLE settings (id INTEGER PRIMARY KEY, value TEXT)")
    write(production, "DELETE FROM order_items WHERE id = 1")
    before = dump(copy)
    with pytest.raises(IncrementalRefreshUnsafe, match="settings has no updated_at"):
        ENGINE.apply_changes(copy, production, NOW, RULES, MASKER)
    assert dump(copy) == before


def test_integrity_uses_the_given_foreign_keys_and_counts_injected_orphans(
    production: DataLocation, tmp_path: Path
) -> None:
    copy = masked_copy(production, tmp_path / "env.db")
    write(copy, "UPDATE orders SET customer_id = 99999 WHERE id IN (1, 2, 3)")
    report = ENGINE.integrity(copy, [ForeignKey("orders", "customer_id", "customers", "id")])
    assert report.total_orphans == 3 and not report.ok


def test_sealed_golden_carries_its_provenance_and_drop_removes_it(
    production: DataLocation, tmp_path: Path
) -> None:
    golden = masked_copy(production, tmp_path / "golden.db")
    assert ENGINE.read_provenance(golden) is None
    ENGINE.seal_golden(golden, {"source": "production.db", "as_of": NOW.isoformat()})
    assert ENGINE.read_provenance(golden) == {"source": "production.db", "as_of": NOW.isoformat()}
    ENGINE.drop(golden)
    assert not ENGINE.exists(golden) and list(tmp_path.iterdir()) == [production.path]


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n" * 100)
    with pytest.raises(DataEngineError, match=r"notes\.txt"):
        ENGINE.row_counts(DataLocation.sqlite(bogus))
    with pytest.raises(DataEngineError, match="not a SQLite database"):
        ENGINE.tables(DataLocation.postgres("postgresql://127.0.0.1/postgres", "stagetui_x"))
