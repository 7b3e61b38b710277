"""Orphan counting on real SQLite files, and the integrity report's wording."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from stagetui.data.sqlite_integrity import check_integrity
from stagetui.domain.integrity import ForeignKey, IntegrityReport, OrphanCount
from tests.unit.test_sqlite_schema import SHOP_FOREIGN_KEYS, build_shop


def test_clean_database_has_no_orphans(tmp_path: Path) -> None:
    report = check_integrity(build_shop(tmp_path / "shop.db"))
    assert {c.foreign_key for c in report.checked} == SHOP_FOREIGN_KEYS
    assert report.ok
    assert report.summary() == "6 foreign keys, 0 orphans"


def test_planted_orphans_are_counted_per_foreign_key(tmp_path: Path) -> None:
    db = build_shop(tmp_path / "shop.db")
    with closing(sqlite3.connect(db)) as conn:
        conn.executemany(
            "INSERT INTO order_items (order_id, product_id, quantity) VALUES (?, 1, 1)",
            [(999_001,), (999_002,), (999_002,)],
        )
        conn.executemany(
            "INSERT INTO payments (order_id, account_id, amount_cents, paid_at) VALUES (?, ?, 1, 'x')",
            [
                (None, 888_001),
                (1, 888_002),
                (None, None),
            ],  # the last one has NULL keys: allowed, not an orphan
        )
        conn.commit()
        # SQLite's own (slower) check must agree with the LEFT JOIN count.
        expected_total = len(conn.execute("PRAGMA foreign_key_check").fetchall())

    report = check_integrity(db)
    counts = {str(c.foreign_key): c.orphans for c in report.checked}
    assert counts == {
        "accounts.customer_id -> customers.id": 0,
        "orders.customer_id -> customers.id": 0,
        "order_items.order_id -> orders.id": 3,
        "order_items.product_id -> products.id": 0,
        "payments.order_id -> orders.id": 0,
        "payments.account_id -> accounts.id": 2,
    }
    assert report.total_orphans == expected_total == 5
    assert not report.ok
    assert report.summary() == "6 foreign keys, 5 orphans"


def test_summary_uses_singular_for_one() -> None:
    fk = ForeignKey("orders", "customer_id", "customers", "id")
    assert IntegrityReport((OrphanCount(fk, 1),)).summary() == "1 foreign key, 1 orphan"
    assert IntegrityReport(()).ok
