"""What a PostgreSQL database holds, from its catalog: tables, columns, keys, row counts, newest timestamp.

Tables are those of one schema (the engine's, `public` by default), named without the schema, so they
line up with the SQLite engine's names. Partitions are left out: their partitioned parent stands for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from stagetui.data.postgres.connection import Connection
from stagetui.domain.integrity import ForeignKey

INTEGER_TYPES = frozenset({"int2", "int4", "int8"})
TEXT_TYPES = frozenset({"text", "varchar", "bpchar"})
TIME_TYPES = frozenset({"timestamptz", "timestamp", "date"})

# Every relation lookup goes through this: quote_ident keeps odd table names from being re-parsed.
_RELATION = "to_regclass(quote_ident(%(schema)s) || '.' || quote_ident(%(table)s))"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """As declared, e.g. `character varying(40)`: usable in CREATE TABLE."""
    base: str
    """The type's internal name (`int8`, `text`, `timestamptz`): what code branches on."""


def user_tables(conn: Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        'ORDER BY c.relname COLLATE "C"',
        (schema,),
    )
    return [name for (name,) in rows]


def columns(conn: Connection, table: str, schema: str) -> list[Column]:
    """Stored columns in declaration order (generated ones cannot be written, so they are left out)."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = {_RELATION} AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "ORDER BY a.attnum",
        {"schema": schema, "table": table},
    )
    return [Column(name, declared, base) for name, declared, base in rows]


def primary_key(conn: Connection, table: str, schema: str) -> list[Column]:
    """The primary key's columns in key order; empty when there is none."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname FROM pg_constraint k "
        "CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, position) "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum "
        "JOIN pg_type t ON t.oid = a.atttypid "
        f"WHERE k.contype = 'p' AND k.conrelid = {_RELATION} ORDER BY u.position",
        {"schema": schema, "table": table},
    )
    return [Column(name, declared, base) for name, declared, base in rows]


_FOREIGN_KEYS = """
SELECT c.relname, pn.nspname, p.relname,
  ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
  ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
        JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE k.contype = 'f' AND k.conparentid = 0 AND n.nspname = %s AND NOT c.relispartition
"""


def foreign_keys(conn: Connection, schema: str) -> list[ForeignKey]:
    """Every single-column foreign key between tables of `schema`, ordered like the SQLite engine's."""
    keys: list[ForeignKey] = []
    for table, parent_schema, parent, cols, parent_cols in conn.execute(_FOREIGN_KEYS, (schema,)):
        if len(cols) != 1:
            raise ValueError(f"composite foreign key {table}({', '.join(cols)}) -> {parent} is not supported")
        if parent_schema != schema:
            raise ValueError(
                f"foreign key {table}.{cols[0]} -> {parent_schema}.{parent} leaves schema {schema}"
            )
        keys.append(ForeignKey(table, cols[0], parent, parent_cols[0]))
    return sorted(keys, key=lambda k: (k.table, k.column, k.parent_table))


def table_name(schema: str, table: str) -> sql.Identifier:
    return sql.Identifier(schema, table)


def count_rows(conn: Connection, schema: str, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table_name(schema, table))).fetchone()
    assert row is not None
    return int(row[0])


def newest(conn: Connection, schema: str, column: str) -> datetime | None:
    """max(`column`) over every table that has it, as an aware UTC datetime; None when no table has a value.

    Text columns are parsed per row (ISO-8601 text need not share one offset, so the text maximum could
    be wrong); timestamp and date columns are compared natively, where an index can answer.
    """
    found = conn.execute(
        "SELECT c.relname, t.typname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE n.nspname = %s AND a.attname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        'AND NOT a.attisdropped ORDER BY c.relname COLLATE "C"',
        (schema, column),
    ).fetchall()
    latest: datetime | None = None
    for table, base in found:
        name = sql.Identifier(column)
        if base in TEXT_TYPES:
            expression = sql.SQL("max({}::timestamptz)").format(name)
        elif base in TIME_TYPES:
            expression = sql.SQL("max({})::timestamptz").format(name)
        else:
            raise ValueError(f"{table}.{column} is {base}, not a timestamp, date or ISO-8601 text")
        query = sql.SQL("SELECT {} FROM {}").format(expression, table_name(schema, table))
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.DataError as exc:
            conn.rollback()
            raise ValueError(f"{table}.{column} holds a value that is not an ISO-8601 timestamp") from exc
        value = None if row is None else row[0]
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


def sequence_positions(conn: Connection) -> list[tuple[str, str, int]]:
    """(schema, sequence, last value) of every sequence that has handed out a value."""
    rows = conn.execute(
        "SELECT schemaname, sequencename, last_value FROM pg_sequences WHERE last_value IS NOT NULL"
    )
    return [(str(schema), str(name), int(value)) for schema, name, value in rows]


def set_sequences(conn: Connection, positions: list[tuple[str, str, int]]) -> None:
    """Move sequences up to production's positions: new rows in a copy never reuse an id production has
    (never down: rows the copy made itself keep their ids free)."""
    for schema, name, value in positions:
        sequence = sql.Identifier(schema, name)
        row = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sequence)).fetchone()
        if row is None or (row[1] and int(row[0]) >= value):
            continue
        conn.execute("SELECT setval(%s::regclass, %s)", (sequence.as_string(conn), value))
