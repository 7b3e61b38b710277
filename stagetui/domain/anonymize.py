"""Deterministic, keyed masking of column values, and the reports that describe a masking run.

Every masked value is derived from HMAC-SHA256(key, kind + "\\0" + str(value)). The table and column are
deliberately not part of the message: the same email masks to the same fake email wherever it appears,
so joins on masked columns still match. Nothing is cached, so no production value outlives its call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class MaskKind(StrEnum):
    HASH = "hash"
    FAKE_NAME = "fake_name"
    FAKE_EMAIL = "fake_email"
    FAKE_PHONE = "fake_phone"
    FAKE_ADDRESS = "fake_address"
    DATE_SHIFT = "date_shift"
    NULL = "null"
    CONSTANT = "constant"
    KEEP = "keep"


@dataclass(frozen=True)
class ColumnRule:
    table: str
    column: str
    kind: MaskKind
    value: str | None = None  # only for CONSTANT

    def __post_init__(self) -> None:
        if (self.kind is MaskKind.CONSTANT) != (self.value is not None):
            raise ValueError(f"{self.table}.{self.column}: a value is required for CONSTANT and only for it")

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.column}"


def is_identifier_kind(kind: MaskKind) -> bool:
    """Kinds whose output must never equal *any* production value of the column (not just the same row)."""
    return kind in (MaskKind.HASH, MaskKind.FAKE_EMAIL)


def rules_fingerprint(rules: Sequence[ColumnRule]) -> str:
    """Short stable hash of the rules ("rules version"); order-independent, never includes the key."""
    canonical = sorted([r.table, r.column, r.kind.value, r.value] for r in rules)
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:12]


HASH_LENGTH = 16
SHIFT_DAYS = 180


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan
    Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret
    Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin
    Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey
    Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda
    Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine
    Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather"""
)
LAST_NAMES = _words(
    """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
    Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez
    Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker
    Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins
    Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly
    Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
    Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez"""
)
STREET_NAMES = _words(
    """Oak Maple Cedar Pine Elm Birch Willow Walnut Chestnut Spruce Aspen Hickory Magnolia Juniper Laurel
    Poplar Sycamore Cypress Hawthorn Linden Park Lake Hill River Meadow Forest Valley Spring Sunset Highland
    Ridge Harbor Mill Church Market Bridge Station Garden Orchard Prospect Union Washington Lincoln Jefferson
    Madison Franklin Quincy Jackson Monroe Main"""
)
STREET_SUFFIXES = _words("Street Avenue Road Boulevard Lane Drive Court Way Place Terrace")

_PREFIXES = {kind: kind.value.encode() + b"\0" for kind in MaskKind}
_COUNTRY_CODE = re.compile(r"\+\d{1,3}(?=\D)")  # "+44 20..." keeps "+44"; "+4420..." keeps only "+"
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})([T ].*)?", re.DOTALL)
_DIGITS = frozenset("0123456789")


def _pick(options: tuple[str, ...], digest: bytes, offset: int) -> str:
    return options[int.from_bytes(digest[offset : offset + 2], "big") % len(options)]


def _fake_name(digest: bytes, value: object) -> str:
    return f"{_pick(FIRST_NAMES, digest, 0)} {_pick(LAST_NAMES, digest, 2)}"


def _fake_email(digest: bytes, value: object) -> str:
    first, last = _pick(FIRST_NAMES, digest, 0).lower(), _pick(LAST_NAMES, digest, 2).lower()
    # 8 hex digits: with 6, two of 50k emails collide for ~1 key in 135, and a UNIQUE email column then
    # fails for that key every time. example.com (RFC 2606) can never reach a real mailbox.
    return f"{first}.{last}.{digest[4:8].hex()}@example.com"


def _fake_phone(digest: bytes, value: object) -> str:
    text = str(value)
    match = _COUNTRY_CODE.match(text)
    keep = match.end() if match else (1 if text.startswith("+") else 0)
    pool = digest
    while len(pool) < len(text):  # numbers longer than 32 digits are exotic; stretch the pool anyway
        pool += hashlib.sha256(pool[-32:]).digest()
    out = [text[:keep]]
    out.extend(str(pool[i] % 10) if ch in _DIGITS else ch for i, ch in enumerate(text[keep:]))
    return "".join(out)


def _fake_address(digest: bytes, value: object) -> str:
    number = 1 + int.from_bytes(digest[0:2], "big") % 9999
    return f"{number} {_pick(STREET_NAMES, digest, 2)} {_pick(STREET_SUFFIXES, digest, 4)}"


def _shift_days(digest: bytes) -> int:
    n = int.from_bytes(digest[0:2], "big") % (2 * SHIFT_DAYS)  # 360 values: -180..-1 and 1..180
    return n - SHIFT_DAYS if n < SHIFT_DAYS else n - SHIFT_DAYS + 1


def _date_shift(digest: bytes, value: object) -> object:
    delta = dt.timedelta(days=_shift_days(digest))
    if isinstance(value, dt.date):  # datetime is a date subclass; both shift the same way
        return value + delta
    match = _ISO_DATE.fullmatch(str(value))
    try:
        if match is None:
            raise ValueError
        if match.group(2):
            dt.datetime.fromisoformat(str(value))  # validates the time part we are about to keep verbatim
        shifted = dt.date.fromisoformat(match.group(1)) + delta
    except ValueError:
        # The value itself is not echoed: it is production data.
        raise ValueError("date_shift needs an ISO date or datetime") from None
    # Whole days never change the time of day, so the time part and its suffix ('Z', offset) are kept as is.
    return shifted.isoformat() + (match.group(2) or "")


def _hash(digest: bytes, value: object) -> str:
    return digest.hex()[:HASH_LENGTH]


_GENERATORS = {
    MaskKind.HASH: _hash,
    MaskKind.FAKE_NAME: _fake_name,
    MaskKind.FAKE_EMAIL: _fake_email,
    MaskKind.FAKE_PHONE: _fake_phone,
    MaskKind.FAKE_ADDRESS: _fake_address,
    MaskKind.DATE_SHIFT: _date_shift,
}


def _canonical_text(value: object) -> str:
    """The text a value is keyed by. Timestamps from a server driver are written the way SQLite stores them
    (ISO, 'T', UTC as 'Z'), so the same moment masks alike on both engines and joins across them hold."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return str(value)


class Masker:
    """Masks single values; called once per row and column from SQLite, so it stays lean."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("masking key must be at least 16 bytes")
        # Keyed once; each value costs only a copy of the prepared HMAC state.
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def mask(self, rule: ColumnRule, value: object) -> object:
        kind = rule.kind
        if kind is MaskKind.CONSTANT:
            return rule.value
        if value is None or kind is MaskKind.KEEP:
            return value
        if kind is MaskKind.NULL:
            return None
        mac = self._mac.copy()
        mac.update(_PREFIXES[kind])
        mac.update(_canonical_text(value).encode("utf-8", "surrogatepass"))
        digest = mac.digest()
        masked = _GENERATORS[kind](digest, value)
        # A fake drawn from a finite list can be the original itself (one customer in ~10k for names):
        # that would be an unmasked row. Re-draw deterministically until it differs.
        while masked == value or str(masked) == str(value):
            digest = hashlib.sha256(digest).digest()
            masked = _GENERATORS[kind](digest, value)
        return masked


@dataclass(frozen=True)
class ColumnMasking:
    table: str
    column: str
    kind: MaskKind
    changed: int  # rows whose stored value differs after masking


@dataclass(frozen=True)
class MaskingReport:
    rules_version: str
    rows: tuple[tuple[str, int], ...]  # (table, rows updated)
    columns: tuple[ColumnMasking, ...]

    @property
    def total_changed(self) -> int:
        return sum(c.changed for c in self.columns)

    @property
    def masked(self) -> tuple[ColumnMasking, ...]:
        """The columns a rule changes (not those declared `keep`)."""
        return tuple(c for c in self.columns if c.kind is not MaskKind.KEEP)

    def summary(self) -> str:
        return (
            f"masked {len(self.masked)} columns in {len(self.rows)} tables: "
            f"{self.total_changed:,} values changed (rules {self.rules_version})"
        )

    def details(self) -> str:
        """Which rule changed how many values of which column: names and counts only, never values."""
        return "; ".join(f"{c.table}.{c.column} {c.kind.value}: {c.changed:,}" for c in self.masked)


@dataclass(frozen=True)
class ColumnLeaks:
    table: str
    column: str
    kind: MaskKind
    row_leaks: int  # rows whose masked value equals the production value of the same primary key
    set_leaks: int | None  # masked values equal to any production value; None for non-identifier kinds

    @property
    def ok(self) -> bool:
        return self.row_leaks == 0 and not self.set_leaks


@dataclass(frozen=True)
class MaskingVerification:
    columns: tuple[ColumnLeaks, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.columns)

    def summary(self) -> str:
        if self.ok:
            return f"verified {len(self.columns)} masked columns: no leaks"
        bad = [c for c in self.columns if not c.ok]
        leaks = ", ".join(f"{c.table}.{c.column} ({c.row_leaks} row, {c.set_leaks or 0} set)" for c in bad)
        return f"LEAKS in {len(bad)} of {len(self.columns)} masked columns: {leaks}"


def uncovered_columns(rules: Sequence[ColumnRule], columns: Mapping[str, Sequence[str]]) -> list[str]:
    """`table.column` of every column without a rule in a sensitive table (a table with any rule):
    strict mode refuses these, so a PII column newly added to production is never copied unmasked."""
    covered: dict[str, set[str]] = {}
    for rule in rules:
        covered.setdefault(rule.table, set()).add(rule.column)
    return [
        f"{table}.{column}"
        for table, names in sorted(covered.items())
        for column in columns.get(table, ())
        if column not in names
    ]
