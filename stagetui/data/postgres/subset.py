"""Referentially complete subset of a PostgreSQL database, read from production in one snapshot.

The same plan and sampling as the SQLite engine (same seed, same production: same rows). Production is
only read, in one REPEATABLE READ READ ONLY transaction whose snapshot is exported to pg_dump, so the
schema and every row come from the same instant; nothing is written there, not even a temp table (the
selection is kept here as sets of integer keys and sent back as array literals). The target gets the
pre-data schema (tables), the rows by binary COPY parent-first, then the post-data schema: keys, indexes
and foreign keys, which PostgreSQL validates as it adds them.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

import psycopg
from psycopg import IsolationLevel, sql

from stagetui.data.engine import DataLocation, ProgressFn
from stagetui.data.postgres import databases
from stagetui.data.postgres.catalog import (
    INTEGER_TYPES,
    columns,
    count_rows,
    foreign_keys,
    primary_key,
    sequence_positions,
    set_sequences,
    user_tables,
)
from stagetui.data.postgres.connection import (
    Connection,
    connect,
    connection_lost,
    error_text,
    translated,
)
from stagetui.data.postgres.copying import analyze, refuse_existing
from stagetui.data.postgres.tools import ClientTools
from stagetui.domain.integrity import ForeignKey
from stagetui.domain.subset import SubsetPlan, SubsetReport, TableSubset, plan_subset

Selection = dict[str, set[int]]


def subset(
    tools: ClientTools,
    source: DataLocation,
    target: DataLocation,
    schema: str,
    root_table: str,
    fraction: float,
    seed: int,
    where: str | None = None,
    workdir: Path | None = None,
    progress: ProgressFn | None = None,
) -> SubsetReport:
    """About `fraction` of the rows of `root_table` matching `where` (SQL from the operator's config, run in
    the read-only transaction, so it cannot write to production) and every row they need."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"subset fraction must be in (0, 1], got {fraction}")
    say = progress or (lambda _fraction, _message: None)
    refuse_existing(target)
    say(0.0, "reading schema")
    with (
        translated(source, "subsetting"),
        connect(source) as src,
        tempfile.TemporaryDirectory(prefix="stagetui-pgschema-", dir=workdir) as tmp,
    ):
        src.isolation_level = IsolationLevel.REPEATABLE_READ
        src.read_only = True
        row = src.execute("SELECT pg_export_snapshot()").fetchone()  # first statement: fixes the snapshot
        assert row is not None
        plan = plan_subset(foreign_keys(src, schema), root_table, user_tables(src, schema))
        keys = {table: _integer_key(src, schema, table) for table in (*plan.selected, *plan.parents)}
        source_rows = {table: count_rows(src, schema, table) for table in plan.copy_order}
        archive = Path(tmp) / "schema.dump"
        tools.dump(source, archive, schema_only=True, snapshot=str(row[0]))

        say(0.05, f"sampling {root_table}")
        selection: Selection = {table: set() for table in keys}
        sampled = _sample(src, schema, root_table, keys[root_table], fraction, seed, where, selection)
        for i, fk in enumerate(plan.downward):
            say(0.1 + 0.3 * i / max(1, len(plan.downward)), f"following {fk}")
            selection[fk.table] |= _children(src, schema, fk, keys, selection[fk.parent_table])
        say(0.4, "closing over parents")
        _close_upward(src, schema, plan, keys, selection)

        databases.create(target)
        with databases.removed_on_failure(target):
            label = f"the schema of {source.describe()}"
            tools.restore(archive, target, section="pre-data", label=label)
            with translated(target, "filling"), connect(target) as dst:
                for i, table in enumerate(plan.copy_order):
                    say(0.5 + 0.4 * i / len(plan.copy_order), f"copying {table}")
                    _copy_rows(src, dst, schema, table, keys.get(table), selection.get(table))
                set_sequences(dst, sequence_positions(src))
                dst.commit()
                say(0.9, "creating keys and indexes")
                tools.restore(archive, target, section="post-data", label=label)
                counts = {table: count_rows(dst, schema, table) for table in plan.copy_order}
            analyze(target)
    say(1.0, "subset complete")
    tables = tuple(TableSubset(t, source_rows[t], counts[t]) for t in plan.copy_order)
    return SubsetReport(root_table, fraction, seed, sampled, tables, where)


def _integer_key(conn: Connection, schema: str, table: str) -> str:
    key = primary_key(conn, table, schema)
    if len(key) != 1:
        shape = "a composite" if key else "no"
        raise ValueError(f"cannot subset {table}: it has {shape} primary key, not a single integer column")
    if key[0].base not in INTEGER_TYPES:
        raise ValueError(
            f"cannot subset {table}: its primary key {key[0].name} is {key[0].type}, not integer"
        )
    return key[0].name


def _ids(ids: Iterable[int]) -> sql.Composable:
    """An array literal of keys: one value however many keys, and no temp table in production."""
    return sql.SQL("{}::bigint[]").format(sql.Literal("{" + ",".join(str(int(i)) for i in ids) + "}"))


def _sample(
    conn: Connection,
    schema: str,
    table: str,
    key: str,
    fraction: float,
    seed: int,
    where: str | None,
    selection: Selection,
) -> int:
    condition = sql.SQL(" WHERE ({})").format(sql.SQL(where)) if where else sql.SQL("")
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY 1").format(
        sql.Identifier(key), sql.Identifier(schema, table), condition
    )
    try:
        ids = [int(i) for (i,) in conn.execute(query)]
    except psycopg.Error as exc:
        if connection_lost(exc):
            raise  # the server went away: not the filter's fault (`translated` names the server)
        raise ValueError(f"subset filter on {table} ({where}): {error_text(exc, None)}") from exc
    count = len(ids) if fraction >= 1.0 else min(len(ids), max(1, round(fraction * len(ids))))
    # Sorted ids + a seeded RNG, exactly as the SQLite engine: the same seed picks the same rows.
    selection[table] |= set(random.Random(seed).sample(ids, count))
    return count


def _children(
    conn: Connection, schema: str, fk: ForeignKey, keys: dict[str, str], parents: set[int]
) -> set[int]:
    """Keys of the child rows that point at one of the selected parent rows."""
    if not parents:
        return set()
    query = sql.SQL(
        "SELECT c.{child_key} FROM {child} AS c WHERE c.{col} IN "
        "(SELECT p.{parent_col} FROM {parent} AS p WHERE p.{parent_key} = ANY({ids}))"
    ).format(
        child_key=sql.Identifier(keys[fk.table]),
        child=sql.Identifier(schema, fk.table),
        col=sql.Identifier(fk.column),
        parent_col=sql.Identifier(fk.parent_column),
        parent=sql.Identifier(schema, fk.parent_table),
        parent_key=sql.Identifier(keys[fk.parent_table]),
        ids=_ids(parents),
    )
    return {int(i) for (i,) in conn.execute(query)}


def _close_upward(
    conn: Connection, schema: str, plan: SubsetPlan, keys: dict[str, str], sel: Selection
) -> None:
    """Add every parent row referenced by a row to be copied, until nothing changes (zero orphans).

    Each round asks only about the rows added by the previous one: older rows' parents are already in.
    """
    delta = {table: set(ids) for table, ids in sel.items()}
    first = True
    while first or any(delta.values()):
        added: Selection = {table: set() for table in sel}
        for fk in plan.upward:
            if fk.parent_table not in sel:
                continue  # a passthrough parent is copied whole
            if fk.table in sel and not delta[fk.table]:
                continue
            if fk.table not in sel and not first:
                continue  # a table copied whole: its references were all collected in the first round
            column = sql.Identifier(fk.column)
            children = sql.SQL("SELECT c.{} FROM {} AS c WHERE c.{} IS NOT NULL").format(
                column, sql.Identifier(schema, fk.table), column
            )
            if fk.table in sel:
                children += sql.SQL(" AND c.{} = ANY({})").format(
                    sql.Identifier(keys[fk.table]), _ids(delta[fk.table])
                )
            # Through the parent table, so only existing rows are added (a dangling source key adds none).
            query = sql.SQL("SELECT p.{} FROM {} AS p WHERE p.{} IN ({})").format(
                sql.Identifier(keys[fk.parent_table]),
                sql.Identifier(schema, fk.parent_table),
                sql.Identifier(fk.parent_column),
                children,
            )
            new = {int(i) for (i,) in conn.execute(query)} - sel[fk.parent_table]
            sel[fk.parent_table] |= new
            added[fk.parent_table] |= new
        delta, first = added, False


def _copy_rows(
    src: Connection, dst: Connection, schema: str, table: str, key: str | None, selection: set[int] | None
) -> None:
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns(src, table, schema))
    where: sql.Composable = sql.SQL("")
    if key is not None and selection is not None:
        where = sql.SQL(" WHERE {} = ANY({})").format(sql.Identifier(key), _ids(sorted(selection)))
    relation = sql.Identifier(schema, table)
    read = sql.SQL("COPY (SELECT {} FROM {}{}) TO STDOUT (FORMAT BINARY)").format(names, relation, where)
    write = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(relation, names)
    with src.cursor().copy(read) as rows, dst.cursor().copy(write) as sink:
        for block in rows:
            sink.write(block)
