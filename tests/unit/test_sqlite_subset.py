"""Subsetting a real SQLite file: zero orphans, complete downward, deterministic, parent-first."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from stagetui.data.sqlite_integrity import check_integrity
from stagetui.data.sqlite_schema import row_counts
from stagetui.data.sqlite_subset import subset_copy
from tests.unit.test_sqlite_schema import build_shop


def ids(db: Path, sql: str) -> set[int]:
    with closing(sqlite3.connect(db)) as conn:
        return {int(row[0]) for row in conn.execute(sql)}


def pairs(db: Path, sql: str) -> set[tuple[int, int]]:
    with closing(sqlite3.connect(db)) as conn:
        return {(int(a), int(b)) for a, b in conn.execute(sql)}


def execute(db: Path, script: str) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript(script)


def test_subset_has_zero_orphans_even_with_cross_customer_payments(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db", cross_payments=True)
    report = subset_copy(source, tmp_path / "sub.db", "customers", 0.2, seed=7)
    integrity = check_integrity(tmp_path / "sub.db")
    assert integrity.ok, integrity.summary()
    # Gift payments pulled in other customers as parents: the upward closure had work to do.
    assert report.rows("customers") > report.sampled == 24


def test_subset_is_complete_below_each_selected_customer(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db", cross_payments=False)
    subset = tmp_path / "sub.db"
    subset_copy(source, subset, "customers", 0.25, seed=3)
    customers = ids(subset, "SELECT id FROM customers")
    assert len(customers) == 30
    source_orders = pairs(source, "SELECT id, customer_id FROM orders")
    assert pairs(subset, "SELECT id, customer_id FROM orders") == {
        o for o in source_orders if o[1] in customers
    }
    orders = ids(subset, "SELECT id FROM orders")
    source_items = pairs(source, "SELECT id, order_id FROM order_items")
    assert pairs(subset, "SELECT id, order_id FROM order_items") == {
        i for i in source_items if i[1] in orders
    }
    accounts = ids(subset, "SELECT id FROM accounts")
    assert accounts == {a for a, c in pairs(source, "SELECT id, customer_id FROM accounts") if c in customers}
    assert ids(subset, "SELECT id FROM payments") == ids(
        source,
        f"SELECT id FROM payments WHERE order_id IN ({','.join(map(str, orders)) or 'NULL'}) "
        f"OR account_id IN ({','.join(map(str, accounts))})",
    )
    # Products come in as parents: exactly the ones the copied items reference.
    assert ids(subset, "SELECT id FROM products") == ids(subset, "SELECT product_id FROM order_items")


def test_subset_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    first, second, other = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    subset_copy(source, first, "customers", 0.1, seed=42)
    subset_copy(source, second, "customers", 0.1, seed=42)
    subset_copy(source, other, "customers", 0.1, seed=43)
    for table in ("customers", "accounts", "orders", "order_items", "payments", "products"):
        assert ids(first, f"SELECT id FROM {table}") == ids(second, f"SELECT id FROM {table}")
    assert ids(first, "SELECT id FROM customers") != ids(other, "SELECT id FROM customers")


def test_full_fraction_copies_everything(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    report = subset_copy(source, tmp_path / "sub.db", "customers", 1.0, seed=1)
    assert row_counts(tmp_path / "sub.db") == row_counts(source)
    assert report.total_rows == report.source_total_rows
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(tmp_path / "sub.db")) as sub:
        query = "SELECT * FROM customers ORDER BY id"
        assert src.execute(query).fetchall() == sub.execute(query).fetchall()


def test_unreferenced_parent_rows_are_left_out(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db", unreferenced_products=3)
    subset_copy(source, tmp_path / "sub.db", "customers", 1.0, seed=1)
    assert row_counts(tmp_path / "sub.db")["products"] == row_counts(source)["products"] - 3


def test_schema_and_unrelated_tables_are_copied(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    execute(
        source,
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO settings VALUES ('currency', 'EUR'), ('locale', 'de_DE');"
        "CREATE VIEW big_orders AS SELECT * FROM orders;"
        "PRAGMA user_version = 12;",
    )
    subset = tmp_path / "sub.db"
    report = subset_copy(source, subset, "customers", 0.1, seed=5)
    master = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(subset)) as sub:
        assert src.execute(master).fetchall() == sub.execute(master).fetchall()
        assert sub.execute("PRAGMA user_version").fetchone() == (12,)
    assert report.rows("settings") == 2  # no path to customers: copied whole


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "CREATE TABLE order_notes (order_id INTEGER REFERENCES orders(id), line INTEGER, body TEXT, "
            "PRIMARY KEY (order_id, line))",
            "order_notes: it has a composite primary key",
        ),
        (
            "CREATE TABLE coupons (code TEXT PRIMARY KEY, customer_id INTEGER REFERENCES customers(id))",
            "coupons: its primary key code is TEXT",
        ),
    ],
)
def test_tables_without_an_integer_key_are_refused(tmp_path: Path, table: str, message: str) -> None:
    source = build_shop(tmp_path / "prod.db")
    execute(source, table)
    with pytest.raises(ValueError, match=message):
        subset_copy(source, tmp_path / "out" / "sub.db", "customers", 0.5, seed=1)
    assert not (tmp_path / "out" / "sub.db").exists()


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_fraction_must_be_in_range(tmp_path: Path, fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        subset_copy(build_shop(tmp_path / "prod.db"), tmp_path / "sub.db", "customers", fraction, seed=1)


def test_unknown_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'clients'"):
        subset_copy(build_shop(tmp_path / "prod.db"), tmp_path / "sub.db", "clients", 0.5, seed=1)


def test_progress_goes_forward_to_one(tmp_path: Path) -> None:
    seen: list[float] = []
    report = subset_copy(
        build_shop(tmp_path / "prod.db"),
        tmp_path / "sub.db",
        "customers",
        0.5,
        1,
        lambda f, _m: seen.append(f),
    )
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
    assert report.summary().startswith("subset of customers at 50% (seed 1): ")
