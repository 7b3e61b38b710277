"""Incremental refresh of a masked SQLite copy: only rows changed in production since its as-of time.

Changed rows (by a timestamp column such as updated_at) are masked with the same deterministic rules and
upserted parents first; rows gone from production are deleted children first. Everything happens in one
transaction that also holds production's read snapshot, so the copy matches one point in production's time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from stagetui.data.engine import IncrementalRefreshUnsafe
from stagetui.data.sqlite_schema import (
    ProgressFn,
    columns,
    connect_writable,
    file_uri,
    primary_key,
    quote,
    schema_foreign_keys,
    user_tables,
)
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind
from stagetui.domain.changes import ChangeReport, TableChanges
from stagetui.domain.subset import parent_first


def parse_timestamp(value: object) -> datetime | None:
    """An ISO text timestamp as an aware UTC datetime (naive values are taken as UTC); None if unparsable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def apply_changes(
    copy: Path,
    production: Path,
    since: datetime,
    rules: Sequence[ColumnRule],
    masker: Masker,
    column: str = "updated_at",
    progress: ProgressFn | None = None,
) -> ChangeReport:
    say = progress or (lambda _fraction, _message: None)
    with closing(connect_writable(copy)) as conn:
        conn.execute("ATTACH DATABASE ? AS prod", (file_uri(production, "ro"),))
        tables = user_tables(conn, "prod")
        keys = _check_safe(conn, tables, column)
        order = parent_first(schema_foreign_keys(conn, "prod"), tables)
        by_table: dict[str, list[ColumnRule]] = {}
        for rule in rules:
            if rule.kind is not MaskKind.KEEP:
                by_table.setdefault(rule.table, []).append(rule)
        conn.execute("BEGIN IMMEDIATE")
        try:
            deleted = {}
            for table in reversed(order):  # children first: no row is left pointing at a deleted parent
                key, name = quote(keys[table]), quote(table)
                deleted[table] = conn.execute(
                    f"DELETE FROM main.{name} WHERE {key} NOT IN (SELECT {key} FROM prod.{name})"
                ).rowcount
            upserted = {}
            newest: datetime | None = None
            for i, table in enumerate(order):
                say(i / len(order), f"changes in {table}")
                count, table_newest = _upsert(
                    conn, table, keys[table], column, since, by_table.get(table, []), masker
                )
                upserted[table] = count
                if table_newest is not None and (newest is None or table_newest > newest):
                    newest = table_newest
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE prod")
    say(1.0, "changes applied")
    changes = tuple(TableChanges(t, upserted[t], deleted[t]) for t in order)
    return ChangeReport(since, newest or since, changes)


def _check_safe(conn: sqlite3.Connection, tables: Sequence[str], column: str) -> dict[str, str]:
    """Each table's key column; refuses (before any write) whatever would make the result differ from a
    full refresh."""
    copy_tables = set(user_tables(conn, "main"))
    keys: dict[str, str] = {}
    for table in tables:
        if table not in copy_tables:
            raise IncrementalRefreshUnsafe(f"table {table} is new in production")
        prod_columns = columns(conn, table, "prod")
        if prod_columns != columns(conn, table, "main"):
            raise IncrementalRefreshUnsafe(f"the columns of {table} changed in production")
        if column not in prod_columns:
            raise IncrementalRefreshUnsafe(f"table {table} has no {column} column to find changes by")
        key = primary_key(conn, table, "prod")
        if len(key) != 1:
            raise IncrementalRefreshUnsafe(f"table {table} has no single-column primary key")
        keys[table] = key[0][0]
    gone = copy_tables - set(tables)
    if gone:
        raise IncrementalRefreshUnsafe(f"table {sorted(gone)[0]} is gone from production")
    return keys


def _upsert(
    conn: sqlite3.Connection,
    table: str,
    key: str,
    column: str,
    since: datetime,
    rules: Sequence[ColumnRule],
    masker: Masker,
) -> tuple[int, datetime | None]:
    names = columns(conn, table, "prod")
    listed = ", ".join(quote(c) for c in names)
    # julianday() compares ISO texts with and without a zone suffix correctly, unlike a plain text compare.
    # ">=": a row written in the same second as the last as-of time, after the copy was read, is not missed
    # (upserting a row again is harmless).
    rows = conn.execute(
        f"SELECT {listed} FROM prod.{quote(table)} WHERE julianday({quote(column)}) >= julianday(?)",
        (since.astimezone(UTC).isoformat(),),
    ).fetchall()
    if not rows:
        return 0, None
    position = {name: i for i, name in enumerate(names)}
    at = position[column]
    masked_rows = []
    newest: datetime | None = None
    for row in rows:
        values = list(row)
        stamp = parse_timestamp(values[at])
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
        for rule in rules:
            i = position.get(rule.column)
            if i is None:
                raise ValueError(f"masking rule {rule.qualified}: no column {rule.column!r} in production")
            masked = masker.mask(rule, values[i])
            values[i] = (
                masked if masked is None or isinstance(masked, str | bytes | int | float) else str(masked)
            )
        masked_rows.append(values)
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in names if c != key)
    marks = ", ".join("?" for _ in names)
    conn.executemany(
        f"INSERT INTO main.{quote(table)} ({listed}) VALUES ({marks}) "
        f"ON CONFLICT({quote(key)}) DO UPDATE SET {updates}",
        masked_rows,
    )
    return len(masked_rows), newest
