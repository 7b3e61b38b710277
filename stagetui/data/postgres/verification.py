"""Proving no production value of a masked column survived, across two databases.

A query cannot join two PostgreSQL databases, so production's (primary key, masked columns) are streamed
with binary COPY into a temp table next to the copy, in one consistent snapshot of production; then one
join per column counts row leaks (same key, same value) and, for identifier kinds, set leaks (any
production value). The copy is left as it was: everything happens in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import IsolationLevel, sql

from stagetui.data.engine import DataLocation
from stagetui.data.postgres.catalog import Column, columns, primary_key
from stagetui.data.postgres.connection import Connection, connect, translated
from stagetui.data.postgres.masking import check_columns, group_rules
from stagetui.domain.anonymize import (
    ColumnLeaks,
    ColumnRule,
    MaskingVerification,
    MaskKind,
    is_identifier_kind,
)


def verify_masking(
    db: DataLocation, production: DataLocation, schema: str, rules: Sequence[ColumnRule]
) -> MaskingVerification:
    by_table = group_rules([r for r in rules if r.kind is not MaskKind.KEEP])
    checked: list[ColumnLeaks] = []
    with translated(db, "verifying the masking of"), connect(db) as conn, connect(production) as prod:
        prod.isolation_level = IsolationLevel.REPEATABLE_READ  # one snapshot for every table read
        prod.read_only = True
        check_columns(conn, schema, rules, db.describe())
        check_columns(prod, schema, rules, production.describe())
        for i, (table, table_rules) in enumerate(by_table.items()):
            key = primary_key(prod, table, schema)
            if not key:
                # ctid is no key: it differs between copies and VACUUM FULL renumbers it.
                raise ValueError(f"cannot verify masking of {table}: it has no primary key to pair rows by")
            kinds = {c.name: c for c in columns(prod, table, schema)}
            masked = [kinds[r.column] for r in table_rules]
            original = sql.Identifier(f"stagetui_production_{i}")
            _stream(prod, conn, schema, table, [*key, *masked], original)
            for rule in table_rules:
                checked.append(_leaks(conn, schema, table, key, rule, original))
        conn.rollback()
        prod.rollback()
    by_rule = {(c.table, c.column): c for c in checked}
    return MaskingVerification(
        tuple(by_rule[(r.table, r.column)] for r in rules if r.kind is not MaskKind.KEEP)
    )


def _stream(
    prod: Connection, conn: Connection, schema: str, table: str, cols: Sequence[Column], into: sql.Identifier
) -> None:
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in cols
    )
    conn.execute(sql.SQL("CREATE TEMP TABLE {} ({})").format(into, definition))
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in cols)
    read = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT BINARY)").format(
        names, sql.Identifier(schema, table)
    )
    write = sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(into)
    # Binary, because the temp columns have production's exact types: no parsing on either side.
    with prod.cursor().copy(read) as source, conn.cursor().copy(write) as sink:
        for block in source:
            sink.write(block)
    # No ANALYZE of the temp table: its statistics (most common values, histograms: production's values)
    # would be written to the copy's pg_statistic, where the rollback leaves their bytes in dead rows
    # that template clones carry on to every environment. The planner sizes the table from its pages.


def _leaks(
    conn: Connection,
    schema: str,
    table: str,
    key: Sequence[Column],
    rule: ColumnRule,
    original: sql.Identifier,
) -> ColumnLeaks:
    column, copy = sql.Identifier(rule.column), sql.Identifier(schema, table)
    same_row = sql.SQL(" AND ").join(sql.SQL("m.{k} = p.{k}").format(k=sql.Identifier(k.name)) for k in key)
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {} AS m JOIN {} AS p ON {} WHERE m.{c} = p.{c}").format(
            copy, original, same_row, c=column
        )
    ).fetchone()
    assert row is not None
    set_leaks: int | None = None
    if is_identifier_kind(rule.kind):
        found = conn.execute(
            sql.SQL("SELECT count(*) FROM {} AS m WHERE m.{c} IN (SELECT p.{c} FROM {} AS p)").format(
                copy, original, c=column
            )
        ).fetchone()
        assert found is not None
        set_leaks = int(found[0])
    return ColumnLeaks(rule.table, rule.column, rule.kind, int(row[0]), set_leaks)
