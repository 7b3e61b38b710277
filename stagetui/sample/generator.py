"""Deterministic generator of the sample production database (SQLite), plus its packaged config tree.

All randomness comes from one ``random.Random(seed)`` and every timestamp derives from ``spec.now``, so
the same spec always yields the same rows.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from stagetui.sample.vocabulary import CITIES, DOMAINS, FIRST_NAMES, LAST_NAMES, PRODUCT_WORDS, STREETS
from stagetui.store.private import FILE_MODE, make_private_directory

ProgressCallback = Callable[[float, str], None]
Row = tuple[object, ...]

PRODUCT_COUNT = 500
HISTORY_DAYS = 90
TABLES = ("customers", "accounts", "products", "orders", "order_items", "payments")
_BATCH_CUSTOMERS = 2_000
_DAY = 86_400
_FILE_MODE = FILE_MODE  # production data and secrets; containers get readable copies (volumes.directory_tar)

_SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
  phone TEXT NOT NULL, address TEXT NOT NULL, city TEXT NOT NULL, country TEXT NOT NULL,
  birth_date TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
  type TEXT NOT NULL, balance_cents INTEGER NOT NULL, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  price_cents INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
  account_id INTEGER NOT NULL REFERENCES accounts(id), status TEXT NOT NULL, total_cents INTEGER NOT NULL,
  shipping_address TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
  product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
  unit_price_cents INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
  account_id INTEGER NOT NULL REFERENCES accounts(id), amount_cents INTEGER NOT NULL, method TEXT NOT NULL,
  payer_email TEXT NOT NULL, card_last4 TEXT, paid_at TEXT NOT NULL, updated_at TEXT NOT NULL);
"""
# Created after the bulk load: building an index once is cheaper than maintaining it per insert.
_INDEXES = (
    ("accounts", "customer_id"),
    ("orders", "customer_id"),
    ("orders", "account_id"),
    ("order_items", "order_id"),
    ("order_items", "product_id"),
    ("payments", "order_id"),
    ("payments", "account_id"),
)

_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
_STATUS_CUM_WEIGHTS = (10, 25, 40, 85, 95, 100)
_PAID_STATUSES = frozenset({"paid", "shipped", "delivered", "refunded"})
_METHODS = ("card", "bank_transfer", "wallet")
_METHOD_CUM_WEIGHTS = (70, 90, 100)
_ACCOUNT_TYPES = ("checking", "savings", "credit")


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. ``now`` (tz-aware, normalised to UTC) defaults to the current second: pass it
    explicitly for reproducible output. updated_at values fall in the HISTORY_DAYS before it."""

    customers: int = 50_000
    seed: int = 1234
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        object.__setattr__(self, "now", self.now.astimezone(UTC))


@dataclass(frozen=True)
class GenerationReport:
    path: Path
    row_counts: dict[str, int]
    seconds: float


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _ascii(name: str) -> str:
    """Email-safe form of a name: 'Müller' -> 'muller', "O'Brien" -> 'obrien'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in plain.lower() if ch.isalnum())


class _RowFactory:
    """Builds rows batch by batch; ids are assigned here so children can reference their parents."""

    def __init__(self, spec: SampleSpec) -> None:
        self._rng = random.Random(spec.seed)
        self._now = int(spec.now.timestamp())
        self._today = spec.now.date()
        self._prices: list[int] = []
        self._next = dict.fromkeys(TABLES, 1)

    def _recent(self) -> int:
        """An updated_at within the HISTORY_DAYS before now."""
        return self._now - self._rng.randrange(HISTORY_DAYS * _DAY)

    def _between(self, start: int, end: int) -> int:
        return self._rng.randint(min(start, end), end)

    def _address(self) -> str:
        return f"{self._rng.randint(1, 299)} {self._rng.choice(STREETS)}"

    def _phone(self, country: str) -> str:
        rng = self._rng
        if country == "GB":  # Ofcom's drama range
            return f"+44 20 7946 0{rng.randrange(1000):03d}"
        if country == "DE":
            return f"+49 30 {rng.randrange(10_000_000, 99_999_999)}"
        if country == "FR":  # ARCEP's fiction range
            return f"+33 1 99 00 {rng.randrange(100):02d} {rng.randrange(100):02d}"
        area = rng.choice((416, 604)) if country == "CA" else rng.choice((202, 212, 312, 415, 617, 720))
        return f"+1-{area}-555-01{rng.randrange(100):02d}"

    def products(self) -> list[Row]:
        rng, rows = self._rng, list[Row]()
        for pid in range(1, PRODUCT_COUNT + 1):
            name = f"{rng.choice(PRODUCT_WORDS[0])} {rng.choice(PRODUCT_WORDS[1])} {pid}"
            price = rng.randint(199, 49_999)
            self._prices.append(price)
            rows.append((pid, f"SKU-{pid:06d}", name, price, _iso(self._recent())))
        self._next["products"] = PRODUCT_COUNT + 1
        return rows

    def customers(self, count: int) -> dict[str, list[Row]]:
        rows: dict[str, list[Row]] = {table: [] for table in TABLES if table != "products"}
        for _ in range(count):
            self._customer(rows)
        return rows

    def _take(self, table: str) -> int:
        ident = self._next[table]
        self._next[table] = ident + 1
        return ident

    def _customer(self, rows: dict[str, list[Row]]) -> None:
        rng, cid = self._rng, self._take("customers")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country = rng.choice(CITIES)
        address = self._address()
        # +id keeps emails unique without remembering the ones already issued.
        email = f"{_ascii(first)}.{_ascii(last)}+{cid}@{rng.choice(DOMAINS)}"
        birth = (self._today - timedelta(days=rng.randint(18 * 365, 85 * 365))).isoformat()
        updated = self._recent()
        created = updated - rng.randrange(3 * 365 * _DAY)
        rows["customers"].append(
            (
                cid,
                f"{first} {last}",
                email,
                self._phone(country),
                address,
                city,
                country,
                birth,
                _iso(created),
                _iso(updated),
            )
        )
        accounts = []
        for _ in range(2 if rng.random() < 0.2 else 1):
            aid, acc_updated = self._take("accounts"), self._recent()
            kind = rng.choice(_ACCOUNT_TYPES)
            balance = -rng.randrange(500_000) if kind == "credit" else rng.randrange(5_000_000)
            opened = self._between(created, acc_updated)
            rows["accounts"].append((aid, cid, kind, balance, _iso(opened), _iso(acc_updated)))
            accounts.append(aid)
        for _ in range(rng.randint(0, 6)):
            self._order(rows, cid, rng.choice(accounts), created, email, address)

    def _order(
        self, rows: dict[str, list[Row]], cid: int, aid: int, since: int, email: str, address: str
    ) -> None:
        rng, oid = self._rng, self._take("orders")
        updated = self._recent()
        created = self._between(since, updated)
        stamp = _iso(updated)
        total = 0
        for pid in rng.sample(range(1, PRODUCT_COUNT + 1), rng.randint(1, 4)):
            quantity = 1 if rng.random() < 0.7 else rng.randint(2, 5)
            price = self._prices[pid - 1]
            total += quantity * price
            rows["order_items"].append((self._take("order_items"), oid, pid, quantity, price, stamp))
        status = rng.choices(_STATUSES, cum_weights=_STATUS_CUM_WEIGHTS)[0]
        # Mostly the customer's own address, so masking by value stays consistent across tables.
        shipping = address if rng.random() < 0.9 else self._address()
        rows["orders"].append((oid, cid, aid, status, total, shipping, _iso(created), stamp))
        if status in _PAID_STATUSES:
            method = rng.choices(_METHODS, cum_weights=_METHOD_CUM_WEIGHTS)[0]
            last4 = f"{rng.randrange(10_000):04d}" if method == "card" else None
            payer = email if rng.random() < 0.95 else self._other_email()
            paid_at = _iso(self._between(created, updated))
            payment = (self._take("payments"), oid, aid, total, method, payer, last4, paid_at, stamp)
            rows["payments"].append(payment)

    def _other_email(self) -> str:
        """Someone else paying (a gift): a plausible address that needs not be unique."""
        rng = self._rng
        return f"{_ascii(rng.choice(FIRST_NAMES))}.{_ascii(rng.choice(LAST_NAMES))}@{rng.choice(DOMAINS)}"


def _insert(conn: sqlite3.Connection, table: str, rows: list[Row]) -> None:
    if rows:
        marks = ",".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def _build(conn: sqlite3.Connection, spec: SampleSpec, progress: ProgressCallback) -> None:
    # Speed over durability while building: a failed build is deleted, never repaired.
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN")
    for statement in _SCHEMA.split(";"):  # not executescript(): it would commit the open transaction
        if statement.strip():
            conn.execute(statement)
    factory = _RowFactory(spec)
    _insert(conn, "products", factory.products())
    done, reported = 0, 0.0
    while done < spec.customers:
        count = min(_BATCH_CUSTOMERS, spec.customers - done)
        batch = factory.customers(count)
        for table in ("customers", "accounts", "orders", "order_items", "payments"):
            _insert(conn, table, batch[table])
        done += count
        fraction = 0.9 * done / spec.customers
        if fraction - reported >= 0.025 or done == spec.customers:  # a few dozen calls, whatever the size
            progress(fraction, f"generated {done:,} of {spec.customers:,} customers")
            reported = fraction
    progress(0.92, "indexing foreign keys")
    for table, column in _INDEXES:
        conn.execute(f"CREATE INDEX idx_{table}_{column} ON {table}({column})")
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=DELETE")


def generate_production_db(
    path: Path, spec: SampleSpec, progress: ProgressCallback | None = None, *, overwrite: bool = False
) -> GenerationReport:
    """Generate the sample production database at ``path``, atomically (temp file next to it, then rename).

    Raises FileExistsError if ``path`` exists and ``overwrite`` is false.
    """
    report = progress or (lambda _fraction, _message: None)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists")
    started = time.perf_counter()
    make_private_directory(path.parent)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    temp.chmod(_FILE_MODE)
    try:
        report(0.0, "creating schema")
        with contextlib.closing(sqlite3.connect(temp, isolation_level=None)) as conn:
            _build(conn, spec, report)
            counts = {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}
        with temp.open("r+b") as written:  # synchronous=OFF skipped fsync: flush before the rename
            os.fsync(written.fileno())
        if path.exists() and not overwrite:  # it may have appeared while we were building
            raise FileExistsError(f"{path} already exists")
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    report(1.0, "done")
    return GenerationReport(path=path, row_counts=counts, seconds=time.perf_counter() - started)


def write_production_config(directory: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the packaged production config tree into ``directory``; existing files are kept unless overwrite.

    Returns the path of every config file of the tree in ``directory`` (written now or already there).
    """
    make_private_directory(directory)
    source = resources.files("stagetui.sample").joinpath("production_config")
    paths = []
    for item in sorted(source.iterdir(), key=lambda entry: entry.name):
        if not item.is_file():
            continue
        target = directory / item.name
        paths.append(target)
        if target.exists() and not overwrite:
            continue
        handle, temp_name = tempfile.mkstemp(prefix=f".{item.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(item.read_bytes())
            Path(temp_name).chmod(_FILE_MODE)
            Path(temp_name).replace(target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    return paths
