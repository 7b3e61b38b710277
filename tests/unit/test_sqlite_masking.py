"""Masking a real SQLite copy in place, and catching leaks when verifying it against production."""

from __future__ import annotations

import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from stagetui.data.sqlite_masking import apply_masking, verify_masking
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind
from tests.unit.test_sqlite_schema import build_shop, shop_email

KEY = b"test-key-0123456789abcdef"
RULES = (
    ColumnRule("customers", "name", MaskKind.FAKE_NAME),
    ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
    ColumnRule("customers", "phone", MaskKind.FAKE_PHONE),
    ColumnRule("customers", "address", MaskKind.FAKE_ADDRESS),
    ColumnRule("customers", "birth_date", MaskKind.DATE_SHIFT),
    ColumnRule("customers", "notes", MaskKind.NULL),
    ColumnRule("customers", "created_at", MaskKind.KEEP),
    ColumnRule("accounts", "iban", MaskKind.HASH),
    ColumnRule("accounts", "nickname", MaskKind.CONSTANT, "redacted"),
    ColumnRule("payments", "payer_email", MaskKind.FAKE_EMAIL),
)


@pytest.fixture()
def production(tmp_path: Path) -> Path:
    return build_shop(tmp_path / "prod.db")


@pytest.fixture()
def copy(production: Path, tmp_path: Path) -> Path:
    target = tmp_path / "env.db"
    shutil.copyfile(production, target)
    return target


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def execute(db: Path, sql: str, *params: object) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(sql, params)
        conn.commit()


def test_masking_replaces_pii_and_keeps_joins(production: Path, copy: Path) -> None:
    apply_masking(copy, RULES, Masker(KEY))
    before = {r[0]: r for r in rows(production, "SELECT * FROM customers")}
    after = {r[0]: r for r in rows(copy, "SELECT * FROM customers")}
    assert before.keys() == after.keys()
    for cid, (_, name, email, phone, address, born, notes, created) in after.items():
        old = before[cid]
        assert name != old[1] and email != old[2] and address != old[4] and born != old[5]
        assert re.fullmatch(r"[a-z]+\.[a-z]+\.[0-9a-f]{8}@example\.com", str(email))
        assert (phone is None) == (old[3] is None)
        assert notes is None
        assert created == old[7]
    # payer_email was masked in another table, yet each payment still matches its payer's masked email.
    unmatched = (
        "SELECT count(*) FROM payments p JOIN accounts a ON a.id = p.account_id "
        "JOIN customers c ON c.id = a.customer_id WHERE p.payer_email IS NOT c.email"
    )
    assert rows(production, unmatched) == rows(copy, unmatched) == [(0,)]
    assert rows(copy, "SELECT DISTINCT nickname FROM accounts") == [("redacted",)]


def test_report_counts_changed_rows_per_column(copy: Path) -> None:
    report = apply_masking(copy, RULES, Masker(KEY))
    changed = {f"{c.table}.{c.column}": c.changed for c in report.columns}
    customers = len(rows(copy, "SELECT id FROM customers"))
    phones = customers - customers // 7  # the fixture leaves every 7th phone NULL
    notes = customers // 3  # and only every 3rd customer has notes
    assert changed["customers.email"] == changed["customers.name"] == customers
    assert changed["customers.phone"] == phones
    assert changed["customers.notes"] == notes
    assert changed["customers.created_at"] == 0
    assert dict(report.rows)["customers"] == customers
    assert report.summary().startswith(
        f"masked 9 columns in 3 tables: {report.total_changed:,} values changed"
    )


def test_masking_is_deterministic_across_copies(production: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    for target in (first, second):
        shutil.copyfile(production, target)
        apply_masking(target, RULES, Masker(KEY))
    query = "SELECT * FROM customers ORDER BY id"
    assert rows(first, query) == rows(second, query)


def test_no_original_bytes_remain_in_the_file(copy: Path) -> None:
    originals = [shop_email(c).encode() for c in range(1, 121)]
    raw = copy.read_bytes()
    assert all(email in raw for email in originals)  # the control: the search does find them before
    apply_masking(copy, RULES, Masker(KEY))
    raw = copy.read_bytes()
    assert [email for email in originals if email in raw] == []
    assert b"Real Person" not in raw and b"Actual Road" not in raw


def test_unknown_table_or_column_is_named(copy: Path) -> None:
    with pytest.raises(ValueError, match=r"customers\.nope"):
        apply_masking(copy, [ColumnRule("customers", "nope", MaskKind.HASH)], Masker(KEY))
    with pytest.raises(ValueError, match=r"nowhere\.email"):
        apply_masking(copy, [ColumnRule("nowhere", "email", MaskKind.HASH)], Masker(KEY))


def test_duplicate_rules_are_rejected(copy: Path) -> None:
    twice = [ColumnRule("customers", "email", MaskKind.HASH), ColumnRule("customers", "email", MaskKind.NULL)]
    with pytest.raises(ValueError, match=r"more than one masking rule for customers\.email"):
        apply_masking(copy, twice, Masker(KEY))


def test_a_failing_column_rolls_everything_back(production: Path, copy: Path) -> None:
    # names are not dates: the whole masking fails and nothing is half-masked.
    rules = [
        ColumnRule("accounts", "iban", MaskKind.HASH),
        ColumnRule("customers", "name", MaskKind.DATE_SHIFT),
    ]
    with pytest.raises(ValueError, match=r"cannot mask customers\.name: date_shift needs an ISO date"):
        apply_masking(copy, rules, Masker(KEY))
    assert rows(copy, "SELECT iban FROM accounts") == rows(production, "SELECT iban FROM accounts")


def test_verification_passes_after_masking(production: Path, copy: Path) -> None:
    apply_masking(copy, RULES, Masker(KEY))
    verification = verify_masking(copy, production, RULES)
    assert verification.ok, verification.summary()
    assert len(verification.columns) == len(RULES) - 1  # KEEP columns are not checked
    assert verification.summary() == "verified 9 masked columns: no leaks"


def test_verification_catches_planted_leaks(production: Path, copy: Path) -> None:
    apply_masking(copy, RULES, Masker(KEY))
    execute(copy, "UPDATE customers SET email = ? WHERE id = 3", shop_email(3))  # same row: row and set leak
    execute(copy, "UPDATE customers SET email = ? WHERE id = 4", shop_email(9))  # other row: set leak only
    execute(
        copy, "UPDATE customers SET name = 'Real Person9' WHERE id = 4"
    )  # not an identifier: no set check
    verification = verify_masking(copy, production, RULES)
    leaks = {(c.table, c.column): (c.row_leaks, c.set_leaks) for c in verification.columns if not c.ok}
    assert leaks == {("customers", "email"): (1, 2)}
    name = next(c for c in verification.columns if c.column == "name")
    assert name.set_leaks is None
    assert not verification.ok
    assert "customers.email (1 row, 2 set)" in verification.summary()


def test_verification_of_an_unmasked_copy_flags_every_column(production: Path, copy: Path) -> None:
    verification = verify_masking(copy, production, RULES)
    assert {c.column for c in verification.columns if c.row_leaks > 0} == {
        r.column for r in RULES if r.kind is not MaskKind.KEEP
    }
    email = next(c for c in verification.columns if c.column == "email")
    assert email.row_leaks == email.set_leaks == 120
