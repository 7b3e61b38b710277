"""Schema discovery tests, and ``build_shop``: the small shop database the other SQLite tests use."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from stagetui.data.sqlite_schema import foreign_keys, row_counts, table_names
from stagetui.domain.integrity import ForeignKey

SHOP_SCHEMA = """
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                       price_cents INTEGER NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, phone TEXT,
                        address TEXT, birth_date TEXT, notes TEXT, created_at TEXT NOT NULL);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
                       iban TEXT NOT NULL, nickname TEXT, opened_at TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
                     placed_at TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
                          product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL);
CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id),
                       account_id INTEGER REFERENCES accounts, payer_email TEXT,
                       amount_cents INTEGER NOT NULL, paid_at TEXT NOT NULL);
CREATE INDEX accounts_customer ON accounts(customer_id);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX order_items_order ON order_items(order_id);
CREATE INDEX order_items_product ON order_items(product_id);
CREATE INDEX payments_order ON payments(order_id);
CREATE INDEX payments_account ON payments(account_id);
"""

SHOP_FOREIGN_KEYS = {
    ForeignKey("accounts", "customer_id", "customers", "id"),
    ForeignKey("orders", "customer_id", "customers", "id"),
    ForeignKey("order_items", "order_id", "orders", "id"),
    ForeignKey("order_items", "product_id", "products", "id"),
    ForeignKey("payments", "order_id", "orders", "id"),
    ForeignKey("payments", "account_id", "accounts", "id"),
}


def shop_email(customer_id: int) -> str:
    return f"customer{customer_id:04d}@realmail.test"


def build_shop(
    path: Path,
    *,
    customers: int = 120,
    products: int = 25,
    cross_payments: bool = True,
    unreferenced_products: int = 0,
) -> Path:
    """A few hundred rows with PII columns; every product is ordered unless ``unreferenced_products``.

    With ``cross_payments`` every 10th order is paid from another customer's account (a gift), so the
    subset's upward closure has real work to do.
    """
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SHOP_SCHEMA)
        conn.executemany(
            "INSERT INTO products VALUES (?, ?, ?, ?)",
            [
                (p, f"SKU-{p:03d}", f"Product {p}", 100 * p)
                for p in range(1, products + unreferenced_products + 1)
            ],
        )
        accounts: dict[int, list[int]] = {}
        item = order = payment = account = 0
        for c in range(1, customers + 1):
            phone = None if c % 7 == 0 else f"+1 (555) {c:03d}-{(c * 37) % 10000:04d}"
            conn.execute(
                "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c,
                    f"Real Person{c}",
                    shop_email(c),
                    phone,
                    f"{c} Actual Road",
                    f"19{50 + c % 40}-0{1 + c % 9}-1{c % 10}",
                    None if c % 3 else f"vip customer {c}",
                    f"2023-0{1 + c % 9}-02T10:00:0{c % 10}Z",
                ),
            )
            for _ in range(1 + c % 2):
                account += 1
                accounts.setdefault(c, []).append(account)
                conn.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?, ?)",
                    (account, c, f"DE{c:04d}{account:08d}", f"acct {account}", "2023-05-01"),
                )
            payment += 1  # an account top-up without an order: reached only through accounts
            conn.execute(
                "INSERT INTO payments VALUES (?, NULL, ?, ?, ?, ?)",
                (payment, accounts[c][0], shop_email(c), 500, "2024-01-01T08:00:00Z"),
            )
        for c in range(1, customers + 1):
            for _ in range(c % 4):  # some customers never ordered
                order += 1
                conn.execute(
                    "INSERT INTO orders VALUES (?, ?, ?, ?)", (order, c, "2024-02-03 12:00:00", "paid")
                )
                for _ in range(1 + order % 3):
                    item += 1
                    conn.execute(
                        "INSERT INTO order_items VALUES (?, ?, ?, ?)", (item, order, 1 + item % products, 1)
                    )
                payer = customers - c + 1 if cross_payments and order % 10 == 0 else c
                payment += 1
                conn.execute(
                    "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?)",
                    (payment, order, accounts[payer][-1], shop_email(payer), 1000, "2024-02-03T12:05:00Z"),
                )
        conn.commit()
    return path


@pytest.fixture()
def shop(tmp_path: Path) -> Path:
    return build_shop(tmp_path / "shop.db")


def test_foreign_keys_resolve_implicit_parent_column(shop: Path) -> None:
    # payments.account_id is declared "REFERENCES accounts" without a column: it means accounts' primary key.
    assert set(foreign_keys(shop)) == SHOP_FOREIGN_KEYS


def test_table_names_and_row_counts(shop: Path) -> None:
    names = ["accounts", "customers", "order_items", "orders", "payments", "products"]
    assert table_names(shop) == names
    counts = row_counts(shop)
    with closing(sqlite3.connect(shop)) as conn:
        assert counts == {n: conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
    assert counts["customers"] == 120
    assert counts["order_items"] > counts["orders"] > 0


def test_odd_identifiers_are_quoted(tmp_path: Path) -> None:
    db = tmp_path / "odd.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript(
            'CREATE TABLE "pa""rent" (id INTEGER PRIMARY KEY);'
            'CREATE TABLE "order" ("select" INTEGER REFERENCES "pa""rent"(id));'
        )
    assert foreign_keys(db) == [ForeignKey("order", "select", 'pa"rent', "id")]
    assert row_counts(db) == {"order": 0, 'pa"rent': 0}


def test_composite_foreign_key_is_rejected(tmp_path: Path) -> None:
    db = tmp_path / "composite.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript(
            "CREATE TABLE p (a INTEGER, b INTEGER, PRIMARY KEY (a, b));"
            "CREATE TABLE c (x INTEGER, y INTEGER, FOREIGN KEY (x, y) REFERENCES p(a, b));"
        )
    with pytest.raises(ValueError, match=r"composite foreign key c\(x, y\) -> p"):
        foreign_keys(db)


def test_missing_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(FileNotFoundError):
        table_names(missing)
    assert not missing.exists()
