"""PostgresEngine against a real PostgreSQL server (the session's throwaway cluster).

Each test gets the small sample production loaded into its own database (`pg_production`); the SQLite
engine's functions run on the very same sample file where the two engines must agree.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stagetui.data.engine import DataEngineError, DataLocation
from stagetui.data.postgres import PostgresEngine, mask_dsn
from stagetui.data.postgres.connection import conninfo
from stagetui.data.sqlite_masking import apply_masking
from stagetui.data.sqlite_schema import row_counts as sqlite_row_counts
from stagetui.data.sqlite_subset import subset_copy
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind

pytestmark = pytest.mark.integration

RULES = [
    ColumnRule("customers", "full_name", MaskKind.FAKE_NAME),
    ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
    ColumnRule("customers", "phone", MaskKind.FAKE_PHONE),
    ColumnRule("customers", "address", MaskKind.FAKE_ADDRESS),
    ColumnRule("customers", "birth_date", MaskKind.DATE_SHIFT),
    ColumnRule("orders", "shipping_address", MaskKind.FAKE_ADDRESS),
    ColumnRule("payments", "payer_email", MaskKind.FAKE_EMAIL),
    ColumnRule("payments", "card_last4", MaskKind.NULL),
    ColumnRule("accounts", "type", MaskKind.CONSTANT, "redacted"),
]
MASKER = Masker(b"integration-test-masking-key-0123")


@pytest.fixture
def engine() -> PostgresEngine:
    return PostgresEngine()


def near(production: DataLocation, name: str) -> DataLocation:
    """Another database on production's server."""
    assert production.dsn is not None
    return DataLocation.postgres(production.dsn, name)


def connect(db: DataLocation, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(conninfo(db), autocommit=autocommit)


def values(db: DataLocation, query: str) -> list[tuple[Any, ...]]:
    with connect(db) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def masked_copy(engine: PostgresEngine, pg_production: DataLocation) -> DataLocation:
    copy = near(pg_production, "stagetui_masked")
    engine.full_copy(pg_production, copy)
    engine.mask(copy, RULES, MASKER)
    return copy


# --- copies -------------------------------------------------------------------------------------------------
def test_full_copy_and_template_clone_have_productions_rows(
    engine: PostgresEngine, pg_production: DataLocation, sample_sqlite: Path
) -> None:
    expected = sqlite_row_counts(sample_sqlite)
    assert engine.row_counts(pg_production) == expected
    golden = near(pg_production, "stagetui_golden")
    engine.full_copy(pg_production, golden)
    assert engine.row_counts(golden) == expected
    assert engine.foreign_keys(golden) == engine.foreign_keys(pg_production)

    engine.seal_golden(golden, {"source": "sample", "as_of": datetime(2026, 1, 15, tzinfo=UTC)})
    assert engine.read_provenance(golden) == {"source": "sample", "as_of": "2026-01-15T00:00:00+00:00"}
    clone = near(pg_production, "stagetui_clone")
    assert engine.clone(golden, clone) == "template"
    assert engine.row_counts(clone) == expected
    assert (engine.size_bytes(clone) or 0) > 1_000_000 and engine.size_bytes(golden)  # sealed, still sized
    assert engine.size_bytes(near(pg_production, "stagetui_absent")) is None
    assert engine.read_provenance(clone) is None  # the golden's comment stays with the golden
    assert pg_production.dsn is not None
    assert {"stagetui_golden", "stagetui_clone"} <= set(engine.list_databases(pg_production.dsn))


def test_a_copy_never_replaces_an_existing_database(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    target = near(pg_production, "stagetui_taken")
    engine.full_copy(pg_production, target)
    with connect(target, autocommit=True) as conn:
        conn.execute("DELETE FROM order_items WHERE id = 1")
    with pytest.raises(DataEngineError, match="already exists"):
        engine.full_copy(pg_production, target)
    with pytest.raises(DataEngineError, match="already exists"):
        engine.clone(pg_production, target)
    # The refusal must not have dropped what was there (a failed copy drops only what it created).
    assert values(target, "SELECT count(*) FROM order_items WHERE id = 1") == [(0,)]


def test_cloning_a_template_that_has_a_session_fails_clearly(pg_production: DataLocation) -> None:
    engine = PostgresEngine(template_attempts=1)  # PostgreSQL itself waits 5 s before giving up
    target = near(pg_production, "stagetui_busy_clone")
    with connect(pg_production):
        with pytest.raises(DataEngineError, match="other sessions are connected") as failure:
            engine.clone(pg_production, target)
        assert "ALLOW_CONNECTIONS" in str(failure.value)
        assert not engine.exists(target)
    assert engine.clone(pg_production, target) == "template"  # the session was the only obstacle


def test_a_truncated_dump_is_refused_and_leaves_nothing(
    engine: PostgresEngine, pg_production: DataLocation, tmp_path: Path
) -> None:
    dump = tmp_path / "production.dump"
    engine.dump(pg_production, dump)
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    target = near(pg_production, "stagetui_restored")
    with pytest.raises(DataEngineError, match=r"truncated\.dump"):
        engine.restore_dump(truncated, target)
    assert not engine.exists(target)
    engine.restore_dump(dump, target)  # the whole dump restores: the refusal was about the truncation
    assert engine.row_counts(target) == engine.row_counts(pg_production)


# --- masking ------------------------------------------------------------------------------------------------
def test_masking_gives_the_sqlite_engines_values(
    engine: PostgresEngine, pg_production: DataLocation, sample_sqlite: Path, tmp_path: Path
) -> None:
    sqlite_copy = tmp_path / "masked.db"
    shutil.copyfile(sample_sqlite, sqlite_copy)
    sqlite_report = apply_masking(sqlite_copy, RULES, MASKER)
    copy = near(pg_production, "stagetui_masked")
    engine.full_copy(pg_production, copy)
    report = engine.mask(copy, RULES, MASKER)

    assert report == sqlite_report
    query = "SELECT id, full_name, email, phone, address, birth_date FROM customers ORDER BY id"
    with closing(sqlite3.connect(sqlite_copy)) as conn:
        expected = conn.execute(query).fetchall()
    assert values(copy, query) == expected
    payments = "SELECT id, payer_email, card_last4 FROM payments ORDER BY id"
    with closing(sqlite3.connect(sqlite_copy)) as conn:
        assert values(copy, payments) == conn.execute(payments).fetchall()


def test_masked_emails_still_join_across_tables(
    pg_production: DataLocation, masked_copy: DataLocation
) -> None:
    join = "SELECT count(*) FROM payments p JOIN customers c ON c.email = p.payer_email"
    (before,) = values(pg_production, join)
    assert before[0] > 0
    assert values(masked_copy, join) == [before]
    originals = {row[0] for row in values(pg_production, "SELECT email FROM customers")}
    assert not originals & {row[0] for row in values(masked_copy, "SELECT email FROM customers")}


def _raw_pages(conn: psycopg.Connection[tuple[Any, ...]], relation: str) -> bytes:
    """Every byte of a relation's main fork, dead row versions included (pageinspect)."""
    row = conn.execute(
        "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", (relation,)
    ).fetchone()
    assert row is not None
    pages = []
    for block in range(int(row[0])):
        page = conn.execute("SELECT get_raw_page(%s, %s)", (relation, block)).fetchone()
        assert page is not None
        pages.append(bytes(page[0]))
    return b"".join(pages)


def _found(data: bytes, originals: list[str]) -> int:
    return sum(1 for value in originals if value.encode() in data)


def test_masking_leaves_no_original_bytes_in_table_or_statistics_files(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    originals = [str(row[0]) for row in values(pg_production, "SELECT email FROM customers")]
    copy = near(pg_production, "stagetui_purged")
    engine.full_copy(pg_production, copy)
    with connect(copy, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pageinspect")  # the sample's cluster ships it (postgresql-contrib)
        # A short histogram is stored uncompressed, so the scan below can see its values.
        conn.execute("ALTER TABLE customers ALTER COLUMN email SET STATISTICS 5")
        conn.execute("ANALYZE customers")
        before = conn.execute("SELECT pg_relation_filenode('customers')").fetchone()
        # Positive controls: the scans do find originals where they are.
        assert _found(_raw_pages(conn, "customers"), originals) == len(originals)
        assert _found(_raw_pages(conn, "pg_catalog.pg_statistic"), originals) > 0

    engine.mask(copy, [ColumnRule("customers", "email", MaskKind.FAKE_EMAIL)], MASKER)

    with connect(copy, autocommit=True) as conn:
        assert conn.execute("SELECT pg_relation_filenode('customers')").fetchone() != before
        assert _found(_raw_pages(conn, "customers"), originals) == 0
        assert _found(_raw_pages(conn, "pg_catalog.pg_statistic"), originals) == 0
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        leaked = conn.execute("SELECT count(*) FROM customers WHERE email = ANY(%s)", (originals,)).fetchone()
        assert leaked == (0,)


def test_masking_rejects_unknown_columns_naming_them(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    copy = near(pg_production, "stagetui_unknown")
    engine.full_copy(pg_production, copy)
    with pytest.raises(ValueError, match=r"customers\.nickname"):
        engine.mask(copy, [ColumnRule("customers", "nickname", MaskKind.HASH)], MASKER)
    with pytest.raises(ValueError, match=r"clients\.email"):
        engine.mask(copy, [ColumnRule("clients", "email", MaskKind.HASH)], MASKER)


def test_a_failed_masking_changes_nothing(engine: PostgresEngine, pg_production: DataLocation) -> None:
    copy = near(pg_production, "stagetui_half_masked")
    engine.full_copy(pg_production, copy)
    rules = [
        ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
        ColumnRule("orders", "status", MaskKind.DATE_SHIFT),  # 'paid' is no date: fails after emails
    ]
    with pytest.raises(ValueError, match=r"cannot mask orders\.status"):
        engine.mask(copy, rules, MASKER)
    query = "SELECT id, email FROM customers ORDER BY id"
    assert values(copy, query) == values(pg_production, query)


def test_verification_passes_after_masking(
    engine: PostgresEngine, pg_production: DataLocation, masked_copy: DataLocation
) -> None:
    verification = engine.verify_masking(masked_copy, pg_production, RULES)
    assert verification.ok, verification.summary()
    assert len(verification.columns) == len(RULES)


def test_verification_catches_a_rule_that_kept_emails(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    copy = near(pg_production, "stagetui_kept")
    engine.full_copy(pg_production, copy)
    broken = [r if r.column != "email" else ColumnRule("customers", "email", MaskKind.KEEP) for r in RULES]
    engine.mask(copy, broken, MASKER)
    verification = engine.verify_masking(copy, pg_production, RULES)
    email = next(c for c in verification.columns if c.column == "email")
    (customers,) = values(pg_production, "SELECT count(*) FROM customers")
    assert not verification.ok
    assert (email.row_leaks, email.set_leaks) == (customers[0], customers[0])


def test_verification_catches_planted_original_values(
    engine: PostgresEngine, pg_production: DataLocation, masked_copy: DataLocation
) -> None:
    (other,) = values(pg_production, "SELECT email FROM customers WHERE id = 2")
    (name,) = values(pg_production, "SELECT full_name FROM customers WHERE id = 3")
    with connect(masked_copy, autocommit=True) as conn:
        conn.execute("UPDATE customers SET email = %s WHERE id = 1", other)  # another customer's email
        conn.execute("UPDATE customers SET full_name = %s WHERE id = 3", name)  # its own original name
    verification = engine.verify_masking(masked_copy, pg_production, RULES)
    leaks = {c.column: (c.row_leaks, c.set_leaks) for c in verification.columns if not c.ok}
    assert leaks == {"email": (0, 1), "full_name": (1, None)}


# --- integrity and subsets ----------------------------------------------------------------------------------
def test_integrity_counts_orphans_in_a_copy_without_constraints(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    copy = near(pg_production, "stagetui_orphans")
    engine.full_copy(pg_production, copy)
    with connect(copy, autocommit=True) as conn:
        for table, name in conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"
        ).fetchall():
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        conn.execute("UPDATE order_items SET order_id = order_id + 1000000 WHERE id IN (1, 2, 3)")
    assert engine.foreign_keys(copy) == []
    report = engine.integrity(copy, engine.foreign_keys(pg_production))
    orphans = {str(c.foreign_key): c.orphans for c in report.checked if c.orphans}
    assert orphans == {"order_items.order_id -> orders.id": 3}
    assert engine.integrity(pg_production, engine.foreign_keys(pg_production)).ok


def test_subset_keeps_every_foreign_key_valid_and_matches_sqlite(
    engine: PostgresEngine, pg_production: DataLocation, sample_sqlite: Path, tmp_path: Path
) -> None:
    target = near(pg_production, "stagetui_subset")
    report = engine.subset(pg_production, target, "customers", 0.1, seed=7)
    expected = subset_copy(sample_sqlite, tmp_path / "subset.db", "customers", 0.1, 7)
    assert report == expected  # same sampling, same closure: the same rows, table by table
    assert 0 < report.total_rows < report.source_total_rows
    foreign_keys = engine.foreign_keys(pg_production)
    assert engine.integrity(target, foreign_keys).ok
    # Constraints enforced: drop the subset's foreign keys and add production's back; adding validates.
    with connect(target, autocommit=True) as conn:
        for table, name in conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"
        ).fetchall():
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for fk in foreign_keys:
            conn.execute(
                f"ALTER TABLE {fk.table} ADD FOREIGN KEY ({fk.column}) "
                f"REFERENCES {fk.parent_table} ({fk.parent_column})"
            )
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # and they do bite
            conn.execute(
                "INSERT INTO accounts (id, customer_id, type, balance_cents, opened_at, updated_at) "
                "VALUES (999999, 999999, 'x', 0, 'x', 'x')"
            )


def test_subset_with_a_filter_matches_sqlite(
    engine: PostgresEngine, pg_production: DataLocation, sample_sqlite: Path, tmp_path: Path
) -> None:
    where = "country = 'GB'"
    report = engine.subset(
        pg_production, near(pg_production, "stagetui_gb"), "customers", 0.5, 3, where=where
    )
    assert report == subset_copy(sample_sqlite, tmp_path / "gb.db", "customers", 0.5, 3, where=where)
    countries = values(near(pg_production, "stagetui_gb"), "SELECT DISTINCT country FROM customers")
    assert report.sampled > 0 and ("GB",) in countries


def test_subset_refuses_a_table_with_a_composite_key(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    with connect(pg_production, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE order_notes (order_id bigint REFERENCES orders (id), line int, note text, "
            "PRIMARY KEY (order_id, line))"
        )
    target = near(pg_production, "stagetui_composite")
    with pytest.raises(ValueError, match="cannot subset order_notes: it has a composite primary key"):
        engine.subset(pg_production, target, "customers", 0.1, seed=1)
    assert not engine.exists(target)


# --- reading, guards and errors -----------------------------------------------------------------------------
def test_newest_reads_text_and_timestamptz_columns(
    engine: PostgresEngine, pg_production: DataLocation, sample_sqlite: Path
) -> None:
    with closing(sqlite3.connect(sample_sqlite)) as conn:
        texts = [
            conn.execute(f"SELECT max(updated_at) FROM {t}").fetchone()[0]
            for t in engine.tables(pg_production)
        ]
    assert engine.newest(pg_production, "updated_at") == max(datetime.fromisoformat(t) for t in texts)
    assert engine.newest(pg_production, "no_such_column") is None
    with connect(pg_production, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit (id bigint PRIMARY KEY, updated_at timestamptz)")
        conn.execute("INSERT INTO audit VALUES (1, '2030-06-01 12:00:00+02')")
    assert engine.newest(pg_production, "updated_at") == datetime(2030, 6, 1, 10, 0, tzinfo=UTC)


def test_incremental_changes_equal_a_full_refresh(
    engine: PostgresEngine, pg_production: DataLocation
) -> None:
    production = near(pg_production, "stagetui_moving")
    engine.full_copy(pg_production, production)
    copy = near(pg_production, "stagetui_incremental")
    engine.full_copy(production, copy)
    engine.mask(copy, RULES, MASKER)
    since = engine.newest(production, "updated_at")
    assert since is not None
    with connect(production, autocommit=True) as conn:
        conn.execute(
            "UPDATE customers SET email = 'moved' || id || '@mail.test', updated_at = "
            "'2026-02-01T00:00:00Z' WHERE id <= 5"
        )
        (order,) = conn.execute("SELECT order_id FROM payments ORDER BY id LIMIT 1").fetchone() or (0,)
        for table, column in (("payments", "order_id"), ("order_items", "order_id"), ("orders", "id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} = %s", (order,))
    report = engine.apply_changes(copy, production, since, RULES, MASKER)
    assert report.deleted >= 3 and report.upserted >= 5
    assert report.as_of == datetime(2026, 2, 1, tzinfo=UTC)

    full = near(pg_production, "stagetui_full_refresh")
    engine.full_copy(production, full)
    engine.mask(full, RULES, MASKER)
    for table in engine.tables(production):
        assert values(copy, f"SELECT * FROM {table} ORDER BY id") == values(
            full, f"SELECT * FROM {table} ORDER BY id"
        )
    assert engine.verify_masking(copy, production, RULES).ok


@pytest.fixture
def foreign_database(pg_production: DataLocation) -> Iterator[DataLocation]:
    """A database named like an application's, outside stagetui's prefix."""
    outsider = near(pg_production, "app_production")
    admin = near(pg_production, "postgres")
    with connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE app_production")
    yield outsider
    with connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS app_production WITH (FORCE)")


def test_nothing_outside_the_prefix_is_dropped_masked_or_sealed(
    engine: PostgresEngine, foreign_database: DataLocation
) -> None:
    with pytest.raises(DataEngineError, match="refusing to drop postgres database app_production"):
        engine.drop(foreign_database)
    with pytest.raises(DataEngineError, match="refusing to mask"):
        engine.mask(foreign_database, RULES, MASKER)
    with pytest.raises(DataEngineError, match="refusing to seal"):
        engine.seal_golden(foreign_database, {})
    assert engine.exists(foreign_database)


def test_an_unreachable_server_fails_without_showing_the_password(engine: PostgresEngine) -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound here, never listened on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        dsn = f"postgresql://postgres:s3cret-pw@127.0.0.1:{port}/postgres"
        db = DataLocation.postgres(dsn, "stagetui_anything")
        with pytest.raises(DataEngineError) as failure:
            engine.row_counts(db)
        with pytest.raises(DataEngineError) as admin_failure:
            engine.drop(db)
    for message in (str(failure.value), str(admin_failure.value)):
        assert "stagetui_anything" in message
        assert "s3cret" not in message


def test_passwords_are_masked_in_dsns() -> None:
    assert mask_dsn("postgresql://app:s3cret@db:5432/prod?sslmode=require") == (
        "postgresql://app:***@db:5432/prod?sslmode=require"
    )
    assert "s3cret" not in mask_dsn("host=db user=app password=s3cret dbname=prod")
    assert "s3cret" not in mask_dsn("postgresql://app@db/prod?password=s3cret")
    assert mask_dsn("postgresql://app@db/prod") == "postgresql://app@db/prod"
