"""Incremental refresh of a masked PostgreSQL copy: only the rows changed in production since its as-of time.

Production is read in one REPEATABLE READ READ ONLY snapshot: its changed rows (by a timestamp column such
as updated_at) are masked here with the same Masker, row by row, and staged by COPY into temp tables
next to the copy, with every key production still has. Then, in one transaction on the copy: upserts
parents first, and only then deletes children first. That order keeps enforced foreign keys valid at
every statement: a child moved away from a parent that is going is updated before the parent goes.
No original value reaches the copy: staging already holds masked values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import IsolationLevel, sql

from stagetui.data.engine import DataLocation, IncrementalRefreshUnsafe, ProgressFn
from stagetui.data.postgres.catalog import (
    TEXT_TYPES,
    TIME_TYPES,
    Column,
    columns,
    foreign_keys,
    primary_key,
    sequence_positions,
    set_sequences,
    user_tables,
)
from stagetui.data.postgres.connection import Connection, connect, translated
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind
from stagetui.domain.changes import ChangeReport, TableChanges
from stagetui.domain.subset import parent_first

FETCH_BATCH = 5_000


def apply_changes(
    copy: DataLocation,
    production: DataLocation,
    schema: str,
    since: datetime,
    rules: Sequence[ColumnRule],
    masker: Masker,
    column: str = "updated_at",
    progress: ProgressFn | None = None,
) -> ChangeReport:
    say = progress or (lambda _fraction, _message: None)
    with translated(copy, "applying changes to"), connect(copy) as dst, connect(production) as src:
        src.isolation_level = IsolationLevel.REPEATABLE_READ
        src.read_only = True
        tables = user_tables(src, schema)
        layouts = _check_safe(src, dst, schema, tables, column)
        order = parent_first(foreign_keys(src, schema), tables)
        by_table: dict[str, list[ColumnRule]] = {}
        for rule in rules:
            if rule.kind is not MaskKind.KEEP:
                by_table.setdefault(rule.table, []).append(rule)
        for rule in rules:
            if rule.table in layouts and rule.column not in {c.name for c in layouts[rule.table][1]}:
                raise ValueError(f"masking rule {rule.qualified}: no column {rule.column!r} in production")
        staged: dict[str, tuple[sql.Identifier, sql.Identifier]] = {}
        for i, table in enumerate(order):
            say(0.8 * i / len(order), f"reading changes in {table}")
            key, cols = layouts[table]
            staged[table] = (
                _stage_keys(src, dst, schema, table, key, i),
                _stage_changes(
                    src, dst, schema, table, cols, column, since, by_table.get(table, []), masker, i
                ),
            )
        say(0.8, "applying changes")
        upserted = {t: _upsert(dst, schema, t, *layouts[t], staged[t][1]) for t in order}
        deleted = {t: _delete(dst, schema, t, layouts[t][0], staged[t][0]) for t in reversed(order)}
        newest = _newest(dst, [(staged[t][1], layouts[t][1]) for t in order], column)
        set_sequences(dst, sequence_positions(src))
        dst.commit()
        src.rollback()
    with translated(copy, "analyzing"), connect(copy, autocommit=True) as conn:
        for table in (t for t in order if upserted[t] or deleted[t]):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, table)))
    say(1.0, "changes applied")
    return ChangeReport(
        since, newest or since, tuple(TableChanges(t, upserted[t], deleted[t]) for t in order)
    )


def _check_safe(
    src: Connection, dst: Connection, schema: str, tables: Sequence[str], column: str
) -> dict[str, tuple[Column, list[Column]]]:
    """Each table's key and columns; refuses (before any write) whatever would make the result differ from
    a full refresh."""
    copy_tables = set(user_tables(dst, schema))
    layouts: dict[str, tuple[Column, list[Column]]] = {}
    for table in tables:
        if table not in copy_tables:
            raise IncrementalRefreshUnsafe(f"table {table} is new in production")
        cols = columns(src, table, schema)
        if cols != columns(dst, table, schema):
            raise IncrementalRefreshUnsafe(f"the columns of {table} changed in production")
        found = next((c for c in cols if c.name == column), None)
        if found is None:
            raise IncrementalRefreshUnsafe(f"table {table} has no {column} column to find changes by")
        if found.base not in TEXT_TYPES | TIME_TYPES:
            raise IncrementalRefreshUnsafe(f"{table}.{column} is {found.type}, not a timestamp")
        key = primary_key(src, table, schema)
        if len(key) != 1:
            raise IncrementalRefreshUnsafe(f"table {table} has no single-column primary key")
        if primary_key(dst, table, schema) != key:  # ON CONFLICT needs the copy's own key
            raise IncrementalRefreshUnsafe(f"the copy of {table} lacks production's primary key")
        layouts[table] = (key[0], cols)
    gone = copy_tables - set(tables)
    if gone:
        raise IncrementalRefreshUnsafe(f"table {sorted(gone)[0]} is gone from production")
    return layouts


def _temp(dst: Connection, name: str, cols: Sequence[Column]) -> sql.Identifier:
    table = sql.Identifier(name)
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in cols
    )
    dst.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(table, definition))
    return table


def _stage_keys(
    src: Connection, dst: Connection, schema: str, table: str, key: Column, i: int
) -> sql.Identifier:
    """Every key production has now: the copy's other rows are the deleted ones."""
    into = _temp(dst, f"stagetui_keys_{i}", [key])
    read = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT BINARY)").format(
        sql.Identifier(key.name), sql.Identifier(schema, table)
    )
    with (
        src.cursor().copy(read) as rows,
        dst.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(into)) as sink,
    ):
        for block in rows:
            sink.write(block)
    dst.execute(sql.SQL("ANALYZE {}").format(into))
    return into


def _changed_since(column: Column) -> sql.Composable:
    name = sql.Identifier(column.name)
    # ">=": a row written in the same instant as the last as-of time is not missed (upserting twice is
    # harmless).
    if column.base in TEXT_TYPES:  # ISO text need not share one offset: compare as instants, not as text
        return sql.SQL("{}::timestamptz >= %s").format(name)
    return sql.SQL("{} >= %s").format(name)


def _stage_changes(
    src: Connection,
    dst: Connection,
    schema: str,
    table: str,
    cols: list[Column],
    column: str,
    since: datetime,
    rules: Sequence[ColumnRule],
    masker: Masker,
    i: int,
) -> sql.Identifier:
    into = _temp(dst, f"stagetui_changes_{i}", cols)
    stamp = next(c for c in cols if c.name == column)
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in cols)
    position = {c.name: n for n, c in enumerate(cols)}
    masked = {rule.column for rule in rules}
    # Masked columns are read as Python values, exactly as a full masking reads them (same input, same
    # output); the others travel as text, which every type reads back exactly (what pg_dump relies on).
    selected = sql.SQL(", ").join(
        sql.Identifier(c.name) if c.name in masked else sql.SQL("{}::text").format(sql.Identifier(c.name))
        for c in cols
    )
    query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
        selected, sql.Identifier(schema, table), _changed_since(stamp)
    )
    write = sql.SQL("COPY {} ({}) FROM STDIN").format(into, names)
    try:
        with src.cursor(name=f"stagetui_changes_{i}") as changed:
            changed.execute(query, (since,))
            while batch := changed.fetchmany(FETCH_BATCH):
                with dst.cursor().copy(write) as sink:
                    for row in batch:
                        values = list(row)
                        for rule in rules:
                            values[position[rule.column]] = masker.mask(rule, values[position[rule.column]])
                        sink.write_row(values)
    except psycopg.errors.DataError as exc:
        raise ValueError(f"{table}.{column} holds a value that is not an ISO-8601 timestamp") from exc
    return into


def _upsert(
    dst: Connection, schema: str, table: str, key: Column, cols: list[Column], staged: sql.Identifier
) -> int:
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in cols)
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c.name)) for c in cols if c.name != key.name
    )
    action = (
        sql.SQL("DO UPDATE SET {}").format(updates)
        if any(c.name != key.name for c in cols)
        else sql.SQL("DO NOTHING")
    )
    # OVERRIDING SYSTEM VALUE: production's id goes in even into a GENERATED ALWAYS identity column.
    statement = sql.SQL(
        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} ON CONFLICT ({}) {}"
    ).format(sql.Identifier(schema, table), names, names, staged, sql.Identifier(key.name), action)
    return dst.execute(statement).rowcount


def _delete(dst: Connection, schema: str, table: str, key: Column, keys: sql.Identifier) -> int:
    statement = sql.SQL(
        "DELETE FROM {} AS t WHERE NOT EXISTS (SELECT 1 FROM {} AS k WHERE k.{c} = t.{c})"
    ).format(sql.Identifier(schema, table), keys, c=sql.Identifier(key.name))
    return dst.execute(statement).rowcount


def _newest(
    dst: Connection, staged: Sequence[tuple[sql.Identifier, list[Column]]], column: str
) -> datetime | None:
    """The newest change seen: the refreshed copy's new as-of time."""
    newest: datetime | None = None
    for table, cols in staged:
        stamp = next(c for c in cols if c.name == column)
        cast = sql.SQL("::timestamptz") if stamp.base in TEXT_TYPES else sql.SQL("")
        row = dst.execute(
            sql.SQL("SELECT max({}{})::timestamptz FROM {}").format(sql.Identifier(column), cast, table)
        ).fetchone()
        value = None if row is None else row[0]
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest
