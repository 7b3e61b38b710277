"""Orphan counting on PostgreSQL: one LEFT JOIN per foreign key, constraints or not."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from stagetui.data.engine import DataLocation
from stagetui.data.postgres.connection import Connection, connect, translated
from stagetui.domain.integrity import ForeignKey, IntegrityReport, OrphanCount


def count_orphans(conn: Connection, schema: str, fk: ForeignKey) -> int:
    """Child rows whose non-NULL key matches no parent row (NULL keys are allowed by SQL, not orphans)."""
    query = sql.SQL(
        "SELECT count(*) FROM {child} AS c LEFT JOIN {parent} AS p ON p.{parent_col} = c.{col} "
        "WHERE c.{col} IS NOT NULL AND p.{parent_col} IS NULL"
    ).format(
        child=sql.Identifier(schema, fk.table),
        parent=sql.Identifier(schema, fk.parent_table),
        col=sql.Identifier(fk.column),
        parent_col=sql.Identifier(fk.parent_column),
    )
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def check_integrity(db: DataLocation, schema: str, foreign_keys: Sequence[ForeignKey]) -> IntegrityReport:
    """The keys usually come from production's catalog: a copy may have been made without constraints."""
    with translated(db, "checking integrity of"), connect(db) as conn:
        conn.read_only = True
        return IntegrityReport(tuple(OrphanCount(fk, count_orphans(conn, schema, fk)) for fk in foreign_keys))
