"""Opening SQLite files and discovering their schema (tables, columns, primary and foreign keys)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from stagetui.domain.integrity import ForeignKey

ProgressFn = Callable[[float, str], None]  # fraction done 0..1, short message


def quote(identifier: str) -> str:
    """Quote an SQL identifier; table and column names come from files we do not control."""
    return '"' + identifier.replace('"', '""') + '"'


def file_uri(db: Path, mode: str) -> str:
    if not db.is_file():
        raise FileNotFoundError(f"no SQLite database at {db}")
    return f"{db.resolve().as_uri()}?mode={mode}"


def connect_readonly(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(file_uri(db, "ro"), uri=True, isolation_level=None)


def connect_writable(db: Path) -> sqlite3.Connection:
    # Autocommit: transactions are explicit, and VACUUM / ATTACH must run outside one.
    return sqlite3.connect(file_uri(db, "rw"), uri=True, isolation_level=None)


def user_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    rows = conn.execute(
        f"SELECT name FROM {quote(schema)}.sqlite_master "
        "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    )
    return [name for (name,) in rows]


def columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    """Stored columns in declaration order (generated columns are not listed, and cannot be inserted)."""
    return [row[1] for row in conn.execute(f"PRAGMA {quote(schema)}.table_info({quote(table)})")]


def primary_key(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[tuple[str, str]]:
    """(column, declared type) of the primary key columns, in key order; empty when there is none."""
    info = conn.execute(f"PRAGMA {quote(schema)}.table_info({quote(table)})").fetchall()
    return [(row[1], str(row[2])) for row in sorted((r for r in info if r[5] > 0), key=lambda r: int(r[5]))]


def table_foreign_keys(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[ForeignKey]:
    rows = conn.execute(f"PRAGMA {quote(schema)}.foreign_key_list({quote(table)})").fetchall()
    by_id: dict[int, list[tuple[str, str, str | None]]] = {}
    for fk_id, _seq, parent, child_col, parent_col, *_rest in rows:
        by_id.setdefault(fk_id, []).append((parent, child_col, parent_col))
    keys: list[ForeignKey] = []
    for parts in by_id.values():
        parent = parts[0][0]
        if len(parts) > 1:
            cols = ", ".join(p[1] for p in parts)
            raise ValueError(f"composite foreign key {table}({cols}) -> {parent} is not supported")
        _, child_col, parent_col = parts[0]
        if parent_col is None:  # "REFERENCES parent" without a column means the parent's primary key
            pk = primary_key(conn, parent, schema)
            if len(pk) != 1:
                raise ValueError(f"{table}.{child_col} references {parent}, which has no single-column key")
            parent_col = pk[0][0]
        keys.append(ForeignKey(table, child_col, parent, parent_col))
    return sorted(keys, key=lambda k: (k.column, k.parent_table))


def schema_foreign_keys(conn: sqlite3.Connection, schema: str = "main") -> list[ForeignKey]:
    return [fk for table in user_tables(conn, schema) for fk in table_foreign_keys(conn, table, schema)]


def count_rows(conn: sqlite3.Connection, table: str, schema: str = "main") -> int:
    (count,) = conn.execute(f"SELECT count(*) FROM {quote(schema)}.{quote(table)}").fetchone()
    return int(count)


def foreign_keys(db: Path) -> list[ForeignKey]:
    """Every single-column foreign key of every user table, from PRAGMA foreign_key_list."""
    with closing(connect_readonly(db)) as conn:
        return schema_foreign_keys(conn)


def table_names(db: Path) -> list[str]:
    with closing(connect_readonly(db)) as conn:
        return user_tables(conn)


def row_counts(db: Path) -> dict[str, int]:
    with closing(connect_readonly(db)) as conn:
        return {table: count_rows(conn, table) for table in user_tables(conn)}
