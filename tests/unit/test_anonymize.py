"""Deterministic keyed masking of single values (pure), and the masking reports."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from stagetui.domain.anonymize import (
    FIRST_NAMES,
    LAST_NAMES,
    ColumnLeaks,
    ColumnRule,
    Masker,
    MaskingVerification,
    MaskKind,
    is_identifier_kind,
    rules_fingerprint,
)

KEY = b"k" * 16
MASKER = Masker(KEY)


def rule(kind: MaskKind, table: str = "customers", column: str = "c", value: str | None = None) -> ColumnRule:
    return ColumnRule(table, column, kind, value)


def test_key_must_be_at_least_16_bytes() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Masker(b"k" * 15)
    assert Masker(b"k" * 16).mask(rule(MaskKind.HASH), "x") == MASKER.mask(rule(MaskKind.HASH), "x")


def test_same_value_masks_the_same_in_any_table_but_not_under_another_key() -> None:
    email = "alice@corp.example.org"
    in_customers = MASKER.mask(rule(MaskKind.FAKE_EMAIL, "customers", "email"), email)
    in_payments = MASKER.mask(rule(MaskKind.FAKE_EMAIL, "payments", "payer_email"), email)
    assert in_customers == in_payments != email
    assert Masker(b"another key, 16+").mask(rule(MaskKind.FAKE_EMAIL), email) != in_customers
    assert MASKER.mask(rule(MaskKind.FAKE_EMAIL), "bob@corp.example.org") != in_customers


def test_kind_is_part_of_the_key_material() -> None:
    assert MASKER.mask(rule(MaskKind.HASH), "x") != MASKER.mask(rule(MaskKind.HASH), "y")
    hashed = str(MASKER.mask(rule(MaskKind.HASH), "x"))
    assert re.fullmatch(r"[0-9a-f]{16}", hashed)
    assert hashed not in str(MASKER.mask(rule(MaskKind.FAKE_EMAIL), "x"))


def test_fake_name_and_email_shapes() -> None:
    for i in range(200):
        first, last = str(MASKER.mask(rule(MaskKind.FAKE_NAME), f"Person {i}")).split(" ")
        assert first in FIRST_NAMES and last in LAST_NAMES
        email = str(MASKER.mask(rule(MaskKind.FAKE_EMAIL), f"p{i}@real.test"))
        assert re.fullmatch(r"[a-z]+\.[a-z]+\.[0-9a-f]{8}@example\.com", email), email
    names = {MASKER.mask(rule(MaskKind.FAKE_NAME), f"Person {i}") for i in range(200)}
    assert len(names) > 150  # spread over the lists, not a handful of names


@pytest.mark.parametrize(
    ("phone", "kept"),
    [
        ("+1 (555) 123-4567", "+1 "),
        ("+44 20 7946 0958", "+44 "),
        ("555.123.4567", ""),
        ("+4420794609581", "+"),  # no separator: the country code cannot be told apart, only "+" is kept
    ],
)
def test_fake_phone_keeps_format_and_country_code(phone: str, kept: str) -> None:
    masked = str(MASKER.mask(rule(MaskKind.FAKE_PHONE), phone))
    assert masked.startswith(kept)
    assert len(masked) == len(phone)
    assert [c.isdigit() for c in masked] == [c.isdigit() for c in phone]
    assert [c for c in masked if not c.isdigit()] == [c for c in phone if not c.isdigit()]
    assert masked[len(kept) :] != phone[len(kept) :]


def test_fake_address_shape() -> None:
    address = str(MASKER.mask(rule(MaskKind.FAKE_ADDRESS), "221B Baker Street"))
    assert re.fullmatch(r"\d{1,4} [A-Z][a-z]+ [A-Z][a-z]+", address), address


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("2024-03-05", r"\d{4}-\d{2}-\d{2}"),
        ("2024-03-05T10:11:12Z", r"\d{4}-\d{2}-\d{2}T10:11:12Z"),
        ("2024-03-05 10:11:12", r"\d{4}-\d{2}-\d{2} 10:11:12"),
        ("2024-03-05T10:11:12.123456+02:00", r"\d{4}-\d{2}-\d{2}T10:11:12\.123456\+02:00"),
    ],
)
def test_date_shift_keeps_the_format(value: str, pattern: str) -> None:
    masked = str(MASKER.mask(rule(MaskKind.DATE_SHIFT), value))
    assert re.fullmatch(pattern, masked), masked
    assert masked != value


def test_date_shift_is_within_180_days_and_never_zero() -> None:
    start = dt.date(2020, 1, 1)
    offsets = set()
    for i in range(2000):
        day = start + dt.timedelta(days=i)
        shifted = dt.date.fromisoformat(str(MASKER.mask(rule(MaskKind.DATE_SHIFT), day.isoformat())))
        offsets.add((shifted - day).days)
    assert 0 not in offsets
    assert min(offsets) >= -180 and max(offsets) <= 180
    assert min(offsets) < -150 and max(offsets) > 150  # the whole range is used


def test_date_shift_of_date_objects_and_bad_input() -> None:
    day = dt.date(2024, 3, 5)
    assert MASKER.mask(rule(MaskKind.DATE_SHIFT), day) == dt.date.fromisoformat(
        str(MASKER.mask(rule(MaskKind.DATE_SHIFT), "2024-03-05"))
    )
    for bad in ("not a date", "2024-13-01", "2024-03-05T99:00", "05/03/2024"):
        with pytest.raises(ValueError, match="ISO date") as caught:
            MASKER.mask(rule(MaskKind.DATE_SHIFT), bad)
        assert bad not in str(caught.value)  # the production value is not echoed into logs


@pytest.mark.parametrize("kind", [k for k in MaskKind if k is not MaskKind.CONSTANT])
def test_null_stays_null(kind: MaskKind) -> None:
    assert MASKER.mask(rule(kind), None) is None


def test_null_constant_and_keep() -> None:
    assert MASKER.mask(rule(MaskKind.NULL), "secret") is None
    assert MASKER.mask(rule(MaskKind.CONSTANT, value="redacted"), "secret") == "redacted"
    assert MASKER.mask(rule(MaskKind.CONSTANT, value="redacted"), None) == "redacted"
    assert MASKER.mask(rule(MaskKind.KEEP), "visible") == "visible"


def test_non_text_values_are_masked_too() -> None:
    assert MASKER.mask(rule(MaskKind.HASH), 12345) == MASKER.mask(rule(MaskKind.HASH), "12345")
    assert re.fullmatch(r"\d{10}", str(MASKER.mask(rule(MaskKind.FAKE_PHONE), 5551234567)))


def test_constant_needs_a_value_and_only_constant_takes_one() -> None:
    with pytest.raises(ValueError, match=r"customers\.c"):
        rule(MaskKind.CONSTANT)
    with pytest.raises(ValueError, match=r"customers\.c"):
        rule(MaskKind.HASH, value="x")


def test_identifier_kinds() -> None:
    assert {k for k in MaskKind if is_identifier_kind(k)} == {MaskKind.HASH, MaskKind.FAKE_EMAIL}


def test_rules_fingerprint_is_short_stable_and_order_free() -> None:
    rules = [rule(MaskKind.HASH, column="a"), rule(MaskKind.FAKE_EMAIL, column="b")]
    fingerprint = rules_fingerprint(rules)
    assert re.fullmatch(r"[0-9a-f]{12}", fingerprint)
    assert rules_fingerprint(list(reversed(rules))) == fingerprint
    assert (
        rules_fingerprint([rule(MaskKind.HASH, column="a"), rule(MaskKind.FAKE_NAME, column="b")])
        != fingerprint
    )
    assert rules_fingerprint([rule(MaskKind.CONSTANT, value="x")]) != rules_fingerprint(
        [rule(MaskKind.CONSTANT, value="y")]
    )


def test_verification_summary() -> None:
    clean = ColumnLeaks("customers", "email", MaskKind.FAKE_EMAIL, 0, 0)
    leaky = ColumnLeaks("customers", "phone", MaskKind.FAKE_PHONE, 2, None)
    assert MaskingVerification((clean,)).summary() == "verified 1 masked columns: no leaks"
    verification = MaskingVerification((clean, leaky))
    assert not verification.ok
    assert verification.summary() == "LEAKS in 1 of 2 masked columns: customers.phone (2 row, 0 set)"


def test_a_fake_never_equals_its_original() -> None:
    """Names come from finite lists, so a fake can draw the original itself; masking must re-draw.
    Under this key the first draw for "Thomas Evans" is "Thomas Evans" (found by search)."""
    masker = Masker(b"fixed-point-key-02")
    rule = ColumnRule("customers", "full_name", MaskKind.FAKE_NAME)
    masked = masker.mask(rule, "Thomas Evans")
    assert masked != "Thomas Evans"
    assert masked == masker.mask(rule, "Thomas Evans")


def test_a_timestamp_object_masks_like_the_same_moment_stored_as_text() -> None:
    """PostgreSQL hands timestamptz values to the masker as datetimes; SQLite stores ISO text with 'Z'."""
    masker = Masker(b"cross-engine-key-0123456789")
    for kind in (MaskKind.DATE_SHIFT, MaskKind.HASH):
        rule = ColumnRule("orders", "created_at", kind)
        moment = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
        as_text = masker.mask(rule, "2026-01-15T09:30:00Z")
        as_object = masker.mask(rule, moment)
        if kind is MaskKind.DATE_SHIFT:
            assert isinstance(as_object, dt.datetime)
            assert as_object.isoformat().replace("+00:00", "Z") == as_text
        else:
            assert as_object == as_text
