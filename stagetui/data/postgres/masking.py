"""Masking a PostgreSQL copy in place with the same `Masker` as SQLite, then purging the original bytes.

Values are masked in Python, never in SQL, so both engines give the same output for the same key and
value. Each distinct value is masked once: the (original, masked) pairs go into a temp table by COPY,
and one UPDATE per table joins it. An UPDATE writes new row versions and leaves the old ones, PII
included, in the table files: VACUUM FULL rewrites the tables and their indexes and TOAST, and the
statistics catalog is rewritten too, since ANALYZE had put sample values of the columns there.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from stagetui.data.engine import DataLocation, ProgressFn
from stagetui.data.postgres.catalog import Column, columns, user_tables
from stagetui.data.postgres.connection import Connection, connect, error_text, translated
from stagetui.domain.anonymize import (
    ColumnMasking,
    ColumnRule,
    Masker,
    MaskingReport,
    MaskKind,
    rules_fingerprint,
)

FETCH_BATCH = 10_000  # distinct values per round trip: bounded memory however many there are
# Rewritten after ANALYZE: dead versions of their rows hold the masked columns' most common values.
STATISTICS_CATALOGS = ("pg_statistic", "pg_statistic_ext_data")


def group_rules(rules: Sequence[ColumnRule]) -> dict[str, list[ColumnRule]]:
    by_table: dict[str, list[ColumnRule]] = {}
    for rule in rules:
        if any(r.column == rule.column for r in by_table.get(rule.table, [])):
            raise ValueError(f"more than one masking rule for {rule.qualified}")
        by_table.setdefault(rule.table, []).append(rule)
    return by_table


def check_columns(conn: Connection, schema: str, rules: Sequence[ColumnRule], label: str) -> None:
    tables = set(user_tables(conn, schema))
    for rule in rules:
        if rule.table not in tables:
            raise ValueError(f"masking rule {rule.qualified}: no table {rule.table!r} in {label}")
        if rule.column not in {c.name for c in columns(conn, rule.table, schema)}:
            raise ValueError(f"masking rule {rule.qualified}: no column {rule.column!r} in {label}")


def mask(
    db: DataLocation,
    schema: str,
    rules: Sequence[ColumnRule],
    masker: Masker,
    progress: ProgressFn | None = None,
) -> MaskingReport:
    by_table = group_rules(rules)
    say = progress or (lambda _fraction, _message: None)
    steps = len(by_table) + 1
    rows: list[tuple[str, int]] = []
    results: list[ColumnMasking] = []
    with translated(db, "masking"):
        with connect(db) as conn:  # one transaction: a half-masked copy must never look finished
            check_columns(conn, schema, rules, db.describe())
            for done, (table, table_rules) in enumerate(by_table.items()):
                say(done / steps, f"masking {table}")
                changed, updated = _mask_table(conn, schema, table, table_rules, masker, done)
                rows.append((table, updated))
                results += [
                    ColumnMasking(table, r.column, r.kind, changed.get(r.column, 0)) for r in table_rules
                ]
            conn.commit()
        say((steps - 1) / steps, "vacuum full")
        masked = [
            table
            for table, table_rules in by_table.items()
            if any(r.kind is not MaskKind.KEEP for r in table_rules)
        ]
        purge(db, schema, masked)
    say(1.0, "masking complete")
    return MaskingReport(rules_fingerprint(rules), tuple(rows), tuple(results))


def purge(db: DataLocation, schema: str, tables: Sequence[str]) -> None:
    """Rewrite the masked tables (fresh files, no dead versions), re-analyze, then rewrite the statistics."""
    with connect(db, autocommit=True) as conn:  # VACUUM cannot run inside a transaction
        for table in tables:
            conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(sql.Identifier(schema, table)))
        for catalog in STATISTICS_CATALOGS:
            conn.execute(sql.SQL("VACUUM FULL {}").format(sql.Identifier("pg_catalog", catalog)))


def _mask_table(
    conn: Connection, schema: str, table: str, rules: Sequence[ColumnRule], masker: Masker, number: int
) -> tuple[dict[str, int], int]:
    """One UPDATE for the table's rules; returns rows changed per column and rows updated."""
    types = {c.name: c for c in columns(conn, table, schema)}
    target = sql.Identifier(schema, table)
    sets: list[sql.Composable] = []
    joins: list[sql.Composable] = []
    changed: dict[str, int] = {}
    for i, rule in enumerate(r for r in rules if r.kind is not MaskKind.KEEP):
        column = sql.Identifier(rule.column)
        if rule.kind is MaskKind.CONSTANT:
            sets.append(sql.SQL("{} = {}").format(column, sql.Literal(rule.value)))
            changed[rule.column] = _count(
                conn, target, sql.SQL("{}::text IS DISTINCT FROM {}").format(column, sql.Literal(rule.value))
            )
        elif rule.kind is MaskKind.NULL:
            sets.append(sql.SQL("{} = NULL").format(column))
            changed[rule.column] = _count(conn, target, sql.SQL("{} IS NOT NULL").format(column))
        else:
            name = f"stagetui_mask_{number}_{i}"  # unique in the transaction, which holds every table's maps
            mapping = sql.Identifier(name)
            changed[rule.column] = _build_map(conn, target, types[rule.column], rule, masker, name)
            joins.append(
                sql.SQL("LEFT JOIN {} AS {} ON {}.original = s.{}").format(mapping, mapping, mapping, column)
            )
            # No map row means NULL (only non-NULL values are mapped): the value stays what it was.
            sets.append(sql.SQL("{} = coalesce({}.masked, t.{})").format(column, mapping, column))
    if not sets:
        return changed, 0
    assignments = sql.SQL(", ").join(sets)
    if joins:
        # A self-join on ctid lets every mapped column of the table change in a single pass.
        statement = sql.SQL("UPDATE {} AS t SET {} FROM {} AS s {} WHERE t.ctid = s.ctid").format(
            target, assignments, target, sql.SQL(" ").join(joins)
        )
    else:
        statement = sql.SQL("UPDATE {} AS t SET {}").format(target, assignments)
    try:
        cursor = conn.execute(statement)
    # e.g. two values masked to one in a UNIQUE column, or a CONSTANT that is no value of the column's type
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise ValueError(f"masking {table} failed: {error_text(exc, None)}") from exc
    return changed, cursor.rowcount


def _count(conn: Connection, target: sql.Identifier, condition: sql.Composable) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(target, condition)).fetchone()
    assert row is not None
    return int(row[0])


def _build_map(
    conn: Connection,
    target: sql.Identifier,
    column: Column,
    rule: ColumnRule,
    masker: Masker,
    name: str,
) -> int:
    """Fill temp table `name` with (original, masked) for every distinct value.

    Returns how many rows hold those values, which is how many the UPDATE changes: the Masker never
    returns a value equal to its input.
    """
    mapping = sql.Identifier(name)
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (original {type}, masked {type}) ON COMMIT DROP").format(
            mapping, type=sql.SQL(column.type)
        )
    )
    covered = 0
    # A server-side cursor: batches are fetched between the COPYs on the same connection.
    with conn.cursor(name=f"{name}_values") as values:
        values.execute(
            sql.SQL("SELECT {c}, count(*) FROM {} WHERE {c} IS NOT NULL GROUP BY {c}").format(
                target, c=sql.Identifier(rule.column)
            )
        )
        while batch := values.fetchmany(FETCH_BATCH):
            try:
                pairs = [(value, masker.mask(rule, value)) for value, _count in batch]
            except Exception as exc:  # the value is production data: the message never includes it
                raise ValueError(f"cannot mask {rule.qualified}: {exc}") from exc
            covered += sum(int(count) for _value, count in batch)
            try:
                with conn.cursor().copy(
                    sql.SQL("COPY {} (original, masked) FROM STDIN").format(mapping)
                ) as copy:
                    for pair in pairs:
                        copy.write_row(pair)
            # DataError: the server refused a masked value; ProgrammingError: psycopg cannot even send the
            # original back as it was read (json, arrays, ...), so such columns cannot be masked by value.
            except (psycopg.errors.DataError, psycopg.ProgrammingError) as exc:
                raise ValueError(
                    f"cannot mask {rule.qualified}: masked values do not fit its type {column.type}"
                ) from exc
    conn.execute(sql.SQL("ANALYZE {}").format(mapping))  # temp tables get no statistics otherwise
    return covered
