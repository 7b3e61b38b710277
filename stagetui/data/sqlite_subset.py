"""Referentially complete subset of a database: sample root rows, follow foreign keys, copy parent-first."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

from stagetui.data.sqlite_copy import atomic_target
from stagetui.data.sqlite_schema import (
    ProgressFn,
    columns,
    connect_readonly,
    connect_writable,
    count_rows,
    file_uri,
    primary_key,
    quote,
    schema_foreign_keys,
    user_tables,
)
from stagetui.domain.integrity import ForeignKey
from stagetui.domain.subset import SubsetPlan, SubsetReport, TableSubset, plan_subset

# Indexes are built after the rows are in (faster); views before triggers, which may be INSTEAD OF a view.
_LATE_OBJECTS = ("index", "view", "trigger")


def subset_copy(
    source: Path,
    target: Path,
    root_table: str,
    fraction: float,
    seed: int,
    progress: ProgressFn | None = None,
    where: str | None = None,
) -> SubsetReport:
    """Copy about ``fraction`` of the rows of ``root_table`` matching ``where`` (sampled with ``seed``) and
    every row needed around them. All reads happen in one read transaction: one consistent point in time."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"subset fraction must be in (0, 1], got {fraction}")
    say = progress or (lambda _fraction, _message: None)
    say(0.0, "reading schema")
    with closing(connect_readonly(source)) as src:
        plan = plan_subset(schema_foreign_keys(src), root_table, user_tables(src))
        keys = {table: _integer_key(src, table) for table in (*plan.selected, *plan.parents)}
        source_rows = {table: count_rows(src, table) for table in plan.copy_order}
        (user_version,) = src.execute("PRAGMA user_version").fetchone()
        schema = src.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        ).fetchall()
    for _type, name, sql in schema:
        if str(sql).upper().startswith("CREATE VIRTUAL TABLE"):
            raise ValueError(f"cannot subset virtual table {name}")

    with atomic_target(target) as tmp, closing(connect_writable(tmp)) as conn:
        for kind, _name, sql in schema:
            if kind == "table":
                conn.execute(sql)
        conn.execute(f"PRAGMA main.user_version = {int(user_version)}")  # schema version for migrations
        conn.execute("ATTACH DATABASE ? AS src", (file_uri(source, "ro"),))
        # Selected primary keys live in TEMP tables, so a large selection never becomes a parameter list.
        selection = {table: f"temp.sel_{i}" for i, table in enumerate(keys)}
        for name in selection.values():
            conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)")
        conn.execute("BEGIN")
        say(0.05, f"sampling {root_table}")
        sampled = _sample(conn, root_table, keys[root_table], selection[root_table], fraction, seed, where)
        for i, fk in enumerate(plan.downward):
            say(0.1 + 0.3 * i / max(1, len(plan.downward)), f"following {fk}")
            _follow_down(conn, fk, keys, selection)
        say(0.4, "closing over parents")
        _close_upward(conn, plan, keys, selection)
        for i, table in enumerate(plan.copy_order):
            say(0.5 + 0.4 * i / len(plan.copy_order), f"copying {table}")
            _copy_rows(conn, table, keys.get(table), selection.get(table))
        conn.execute("COMMIT")
        say(0.9, "creating indexes")
        for kind in _LATE_OBJECTS:
            for sql in (sql for k, _name, sql in schema if k == kind):
                conn.execute(sql)
        tables = tuple(TableSubset(t, source_rows[t], count_rows(conn, t)) for t in plan.copy_order)
        conn.execute("DETACH DATABASE src")
    say(1.0, "subset complete")
    return SubsetReport(root_table, fraction, seed, sampled, tables, where)


def _integer_key(conn: sqlite3.Connection, table: str) -> str:
    key = primary_key(conn, table)
    if len(key) != 1:
        shape = "a composite" if key else "no"
        raise ValueError(f"cannot subset {table}: it has {shape} primary key, not a single integer column")
    name, declared = key[0]
    if "INT" not in declared.upper():
        raise ValueError(
            f"cannot subset {table}: its primary key {name} is {declared or 'untyped'}, not integer"
        )
    return name


def _sample(
    conn: sqlite3.Connection, table: str, key: str, into: str, fraction: float, seed: int, where: str | None
) -> int:
    condition = f" WHERE {where}" if where else ""
    try:
        rows = conn.execute(f"SELECT {quote(key)} FROM src.{quote(table)}{condition} ORDER BY 1").fetchall()
    except sqlite3.Error as exc:
        raise ValueError(f"subset filter on {table} ({where}): {exc}") from exc
    ids = [row[0] for row in rows]
    count = len(ids) if fraction >= 1.0 else min(len(ids), max(1, round(fraction * len(ids))))
    # Sorted ids + a seeded RNG: the same seed picks the same rows from the same production.
    chosen = random.Random(seed).sample(ids, count)
    conn.executemany(f"INSERT INTO {into} (id) VALUES (?)", ((i,) for i in chosen))
    return count


def _follow_down(conn: sqlite3.Connection, fk: ForeignKey, keys: dict[str, str], sel: dict[str, str]) -> None:
    """Select every child row whose key points at a selected parent row."""
    child_key, parent_key = quote(keys[fk.table]), quote(keys[fk.parent_table])
    parents = (
        f"SELECT p.{quote(fk.parent_column)} FROM src.{quote(fk.parent_table)} AS p "
        f"WHERE p.{parent_key} IN (SELECT id FROM {sel[fk.parent_table]})"
    )
    conn.execute(
        f"INSERT OR IGNORE INTO {sel[fk.table]} (id) "
        f"SELECT c.{child_key} FROM src.{quote(fk.table)} AS c WHERE c.{quote(fk.column)} IN ({parents})"
    )


def _close_upward(
    conn: sqlite3.Connection, plan: SubsetPlan, keys: dict[str, str], sel: dict[str, str]
) -> None:
    """Add every parent row referenced by a row to be copied, until nothing changes (zero orphans)."""
    while True:
        before = conn.total_changes
        for fk in plan.upward:
            if fk.parent_table not in sel:
                continue  # a passthrough parent is copied whole
            column = quote(fk.column)
            children = f"SELECT c.{column} FROM src.{quote(fk.table)} AS c WHERE c.{column} IS NOT NULL"
            if fk.table in sel:
                children += f" AND c.{quote(keys[fk.table])} IN (SELECT id FROM {sel[fk.table]})"
            # Through the parent table, so only existing rows are added (a dangling source key adds none).
            conn.execute(
                f"INSERT OR IGNORE INTO {sel[fk.parent_table]} (id) "
                f"SELECT p.{quote(keys[fk.parent_table])} FROM src.{quote(fk.parent_table)} AS p "
                f"WHERE p.{quote(fk.parent_column)} IN ({children})"
            )
        if conn.total_changes == before:
            return


def _copy_rows(conn: sqlite3.Connection, table: str, key: str | None, selection: str | None) -> None:
    names = ", ".join(quote(c) for c in columns(conn, table, "src"))
    where = f" WHERE {quote(key)} IN (SELECT id FROM {selection})" if key and selection else ""
    conn.execute(f"INSERT INTO main.{quote(table)} ({names}) SELECT {names} FROM src.{quote(table)}{where}")
