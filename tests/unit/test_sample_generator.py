"""The sample production generator: determinism, shape, integrity, atomic writes, packaged config."""

from __future__ import annotations

import json
import re
import sqlite3
import string
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from stagetui.sample.generator import (
    HISTORY_DAYS,
    PRODUCT_COUNT,
    TABLES,
    SampleSpec,
    generate_production_db,
    write_production_config,
)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SPEC = SampleSpec(customers=300, seed=7, now=NOW)
FOREIGN_KEYS = {
    ("accounts", "customer_id", "customers"),
    ("orders", "customer_id", "customers"),
    ("orders", "account_id", "accounts"),
    ("order_items", "order_id", "orders"),
    ("order_items", "product_id", "products"),
    ("payments", "order_id", "orders"),
    ("payments", "account_id", "accounts"),
}
PII_COLUMNS = [
    ("customers", "full_name"),
    ("customers", "email"),
    ("customers", "phone"),
    ("customers", "address"),
    ("customers", "birth_date"),
    ("orders", "shipping_address"),
    ("payments", "payer_email"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("sample") / "production.db"
    generate_production_db(path, SPEC)
    with closing(sqlite3.connect(path)) as connection:
        yield connection


def _scalar(db: sqlite3.Connection, sql: str) -> Any:
    return db.execute(sql).fetchone()[0]


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(path)) as connection:
        return {t: connection.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


def test_same_spec_gives_identical_rows_and_another_seed_differs(tmp_path: Path) -> None:
    spec = SampleSpec(customers=120, seed=99, now=NOW)
    generate_production_db(tmp_path / "a.db", spec)
    generate_production_db(tmp_path / "b.db", spec)
    generate_production_db(tmp_path / "c.db", SampleSpec(customers=120, seed=100, now=NOW))
    first = _dump(tmp_path / "a.db")
    assert first == _dump(tmp_path / "b.db")
    assert first["customers"] != _dump(tmp_path / "c.db")["customers"]


def test_report_counts_match_the_database(tmp_path: Path) -> None:
    report = generate_production_db(tmp_path / "p.db", SampleSpec(customers=50, now=NOW))
    assert report.path == tmp_path / "p.db"
    with closing(sqlite3.connect(report.path)) as connection:
        assert report.row_counts == {t: _scalar(connection, f"SELECT COUNT(*) FROM {t}") for t in TABLES}


def test_row_counts_follow_the_intended_ratios(db: sqlite3.Connection) -> None:
    customers = _scalar(db, "SELECT COUNT(*) FROM customers")
    orders = _scalar(db, "SELECT COUNT(*) FROM orders")
    assert customers == SPEC.customers
    assert _scalar(db, "SELECT COUNT(*) FROM products") == PRODUCT_COUNT
    assert 1.1 <= _scalar(db, "SELECT COUNT(*) FROM accounts") / customers <= 1.3
    assert 2.6 <= orders / customers <= 3.4
    assert 2.3 <= _scalar(db, "SELECT COUNT(*) FROM order_items") / orders <= 2.7
    # One payment per paid order, none for pending or cancelled ones.
    paid_orders = _scalar(db, "SELECT COUNT(*) FROM orders WHERE status NOT IN ('pending', 'cancelled')")
    payments = _scalar(db, "SELECT COUNT(*) FROM payments")
    assert 0 < paid_orders == payments == _scalar(db, "SELECT COUNT(DISTINCT order_id) FROM payments")


def test_foreign_keys_are_declared_indexed_and_have_no_orphans(db: sqlite3.Connection) -> None:
    declared = {
        (table, row[3], row[2]) for table in TABLES for row in db.execute(f"PRAGMA foreign_key_list({table})")
    }
    assert declared == FOREIGN_KEYS
    for table, column, parent in FOREIGN_KEYS:
        orphans = _scalar(
            db,
            f"SELECT COUNT(*) FROM {table} c LEFT JOIN {parent} p ON p.id = c.{column} WHERE p.id IS NULL",
        )
        assert orphans == 0, f"{table}.{column}"
        indexed = {
            db.execute(f"PRAGMA index_info({index[1]})").fetchone()[2]
            for index in db.execute(f"PRAGMA index_list({table})")
        }
        assert column in indexed, f"{table}.{column} has no index"


def test_orders_and_payments_use_an_account_of_their_own_customer(db: sqlite3.Connection) -> None:
    foreign_orders = "SELECT COUNT(*) FROM orders o JOIN accounts a ON a.id = o.account_id"
    assert _scalar(db, f"{foreign_orders} WHERE a.customer_id != o.customer_id") == 0
    payments = "SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id"
    mismatch = "p.account_id != o.account_id OR p.amount_cents != o.total_cents"
    assert _scalar(db, f"{payments} WHERE {mismatch}") == 0


def test_order_totals_are_the_sum_of_their_items(db: sqlite3.Connection) -> None:
    mismatched = _scalar(
        db,
        "SELECT COUNT(*) FROM orders o JOIN (SELECT order_id, SUM(quantity * unit_price_cents) AS total "
        "FROM order_items GROUP BY order_id) i ON i.order_id = o.id WHERE i.total != o.total_cents",
    )
    assert mismatched == 0


def test_pii_is_populated_and_emails_are_unique_on_fictional_domains(db: sqlite3.Connection) -> None:
    for table, column in PII_COLUMNS:
        assert _scalar(db, f"SELECT COUNT(*) FROM {table} WHERE {column} IS NULL OR {column} = ''") == 0
    emails = [row[0] for row in db.execute("SELECT email FROM customers")]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\+\d+@[a-z]+\.test", email) for email in emails)
    phones = [row[0] for row in db.execute("SELECT phone FROM customers")]
    assert all(re.fullmatch(r"\+\d{1,2}[- ][\d -]{6,}", phone) for phone in phones)
    assert len({phone.split("-")[0].split(" ")[0] for phone in phones}) >= 3  # several country formats


def test_order_and_payment_pii_mostly_repeats_the_customers_values(db: sqlite3.Connection) -> None:
    orders = _scalar(db, "SELECT COUNT(*) FROM orders")
    same_address = _scalar(
        db,
        "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.shipping_address = c.address",
    )
    assert 0.8 * orders <= same_address < orders
    payments = _scalar(db, "SELECT COUNT(*) FROM payments")
    same_email = _scalar(
        db,
        "SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
        "JOIN customers c ON c.id = o.customer_id WHERE p.payer_email = c.email",
    )
    assert 0.9 * payments <= same_email <= payments


def test_updated_at_is_iso_utc_within_the_history_window(db: sqlite3.Connection) -> None:
    oldest = (NOW - timedelta(days=HISTORY_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    newest = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    for table in TABLES:
        stamps = [row[0] for row in db.execute(f"SELECT updated_at FROM {table}")]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp) for stamp in stamps), table
        assert oldest <= min(stamps) and max(stamps) <= newest, table


def test_database_is_left_in_delete_journal_mode(db: sqlite3.Connection) -> None:
    assert _scalar(db, "PRAGMA journal_mode") == "delete"


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        generate_production_db(path, SampleSpec(customers=10, now=NOW))
    assert path.read_bytes() == b"keep me"
    report = generate_production_db(path, SampleSpec(customers=10, now=NOW), overwrite=True)
    assert report.row_counts["customers"] == 10


def test_failure_midway_leaves_no_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    calls: list[float] = []

    def explode(fraction: float, message: str) -> None:
        calls.append(fraction)
        if fraction > 0.5:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        generate_production_db(path, SampleSpec(customers=300, now=NOW), explode)
    assert calls[-1] > 0.5
    assert list(tmp_path.iterdir()) == []


def test_progress_is_monotonic_and_finishes_at_one(tmp_path: Path) -> None:
    fractions: list[float] = []
    spec = SampleSpec(customers=300, now=NOW)
    generate_production_db(tmp_path / "p.db", spec, lambda fraction, _message: fractions.append(fraction))
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0


def test_spec_requires_an_aware_now_and_normalises_it_to_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SampleSpec(now=datetime(2026, 1, 1))
    local = datetime(2026, 1, 1, 10, 0, tzinfo=UTC).astimezone()
    assert SampleSpec(now=local).now.tzinfo is UTC


def _packaged(name: str) -> bytes:
    return resources.files("stagetui.sample").joinpath("production_config", name).read_bytes()


def test_write_production_config_copies_the_three_files(tmp_path: Path) -> None:
    written = write_production_config(tmp_path / "config")
    assert sorted(p.name for p in written) == [".env", "app.yaml", "feature_flags.json"]
    for path in written:
        assert path.read_bytes() == _packaged(path.name)


def test_write_production_config_keeps_existing_files_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("edited: true\n")
    write_production_config(tmp_path)
    assert (tmp_path / "app.yaml").read_text() == "edited: true\n"
    write_production_config(tmp_path, overwrite=True)
    assert (tmp_path / "app.yaml").read_bytes() == _packaged("app.yaml")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def test_template_drifts_from_production_only_where_intended() -> None:
    env_text = _packaged(".env").decode()
    production = {
        "app": yaml.safe_load(_packaged("app.yaml")),
        "feature_flags": json.loads(_packaged("feature_flags.json")),
        "env": dict(line.split("=", 1) for line in env_text.splitlines() if line),
    }
    text = resources.files("stagetui.sample").joinpath("templates", "config.yaml").read_text()
    rendered = string.Template(text).safe_substitute(ENV_ID="env-1", DATABASE_URL="sqlite:///tmp/e.db")
    template = yaml.safe_load(rendered)
    assert set(template) == {"app", "feature_flags", "env"}
    prod, tmpl = _flatten(production), _flatten(template)
    missing = object()
    differing = {key for key in prod.keys() | tmpl.keys() if prod.get(key, missing) != tmpl.get(key, missing)}
    assert differing == {
        "app.service.instance",
        "app.database.pool_size",
        "app.cache.ttl_seconds",
        "app.security.allowed_origins",
        "feature_flags.recommendations_ml",
        "env.APP_ENV",
        "env.DATABASE_URL",
        "env.PAYMENT_API_KEY",
        "env.SESSION_SECRET",
    }
    assert tmpl["app.service.instance"] == "env-1" and tmpl["env.DATABASE_URL"] == "sqlite:///tmp/e.db"
    assert tmpl["env.APP_ENV"] == "ephemeral"
    assert tmpl["app.database.pool_size"] < prod["app.database.pool_size"]
