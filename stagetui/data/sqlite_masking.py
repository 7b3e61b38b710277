"""Masking a database copy in place, and verifying that no production value survived it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from stagetui.data.sqlite_schema import (
    ProgressFn,
    columns,
    connect_readonly,
    connect_writable,
    file_uri,
    primary_key,
    quote,
    user_tables,
)
from stagetui.domain.anonymize import (
    ColumnLeaks,
    ColumnMasking,
    ColumnRule,
    Masker,
    MaskingReport,
    MaskingVerification,
    MaskKind,
    is_identifier_kind,
    rules_fingerprint,
)

SqlValue = str | bytes | int | float | None


class _CountingMask:
    """The SQL function for one column: masks, counts real changes, and keeps the error SQLite would hide."""

    def __init__(self, masker: Masker, rule: ColumnRule) -> None:
        self.masker, self.rule = masker, rule
        self.changed = 0
        self.error: Exception | None = None

    def __call__(self, value: SqlValue) -> SqlValue:
        try:
            masked = self.masker.mask(self.rule, value)
        except Exception as exc:
            self.error = exc
            raise
        if masked != value:
            self.changed += 1
        if masked is None or isinstance(masked, str | bytes | int | float):
            return masked
        return str(masked)  # only reachable for non-SQL inputs; SQLite hands us SQL types


def apply_masking(
    db: Path, rules: Sequence[ColumnRule], masker: Masker, progress: ProgressFn | None = None
) -> MaskingReport:
    """Mask ``db`` in place: one UPDATE per table, then VACUUM so no original bytes remain in the file."""
    by_table: dict[str, list[ColumnRule]] = {}
    for rule in rules:
        if any(r.column == rule.column for r in by_table.get(rule.table, [])):
            raise ValueError(f"more than one masking rule for {rule.qualified}")
        by_table.setdefault(rule.table, []).append(rule)
    steps = len(by_table) + 1
    rows: list[tuple[str, int]] = []
    results: list[ColumnMasking] = []
    with closing(connect_writable(db)) as conn:
        _check_columns(conn, rules, "main", db.name)
        # Freed cells and pages are zeroed instead of merely unlinked, then VACUUM rewrites the file.
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("BEGIN IMMEDIATE")  # all tables or none: a half-masked copy must not look finished
        try:
            for done, (table, table_rules) in enumerate(by_table.items()):
                if progress is not None:
                    progress(done / steps, f"masking {table}")
                functions = [_CountingMask(masker, r) for r in table_rules if r.kind is not MaskKind.KEEP]
                rows.append((table, _update(conn, table, functions)))
                changed = {f.rule.column: f.changed for f in functions}
                results += [
                    ColumnMasking(table, r.column, r.kind, changed.get(r.column, 0)) for r in table_rules
                ]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if progress is not None:
            progress((steps - 1) / steps, "vacuum")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # in WAL mode the rewritten pages sit in the -wal
    if progress is not None:
        progress(1.0, "masking complete")
    return MaskingReport(rules_fingerprint(rules), tuple(rows), tuple(results))


def _update(conn: sqlite3.Connection, table: str, functions: Sequence[_CountingMask]) -> int:
    if not functions:
        return 0
    sets = []
    for i, function in enumerate(functions):
        conn.create_function(f"stagetui_mask_{i}", 1, function)
        column = quote(function.rule.column)
        sets.append(f"{column} = stagetui_mask_{i}({column})")
    try:
        return conn.execute(f"UPDATE {quote(table)} SET {', '.join(sets)}").rowcount
    except sqlite3.Error as exc:
        failed = next((f for f in functions if f.error is not None), None)
        if failed is not None:
            raise ValueError(f"cannot mask {failed.rule.qualified}: {failed.error}") from exc
        raise ValueError(f"masking {table} failed: {exc}") from exc  # e.g. a UNIQUE column got a collision


def verify_masking(db: Path, production: Path, rules: Sequence[ColumnRule]) -> MaskingVerification:
    """Count masked values still equal to production: per row (same key), and for identifiers per column."""
    checked: list[ColumnLeaks] = []
    with closing(connect_readonly(db)) as conn:
        conn.execute("ATTACH DATABASE ? AS prod", (file_uri(production, "ro"),))
        _check_columns(conn, rules, "main", db.name)
        _check_columns(conn, rules, "prod", production.name)
        for rule in rules:
            if rule.kind is MaskKind.KEEP:
                continue
            table, column = quote(rule.table), quote(rule.column)
            # Without a declared key only rowid can pair rows; VACUUM keeps it in practice, not by contract.
            key = [name for name, _type in primary_key(conn, rule.table, "prod")] or ["rowid"]
            same_row = " AND ".join(f"m.{quote(k)} = p.{quote(k)}" for k in key)
            (row_leaks,) = conn.execute(
                f"SELECT count(*) FROM main.{table} AS m JOIN prod.{table} AS p ON {same_row} "
                f"WHERE m.{column} = p.{column}"
            ).fetchone()
            set_leaks: int | None = None
            if is_identifier_kind(rule.kind):
                (set_leaks,) = conn.execute(
                    f"SELECT count(*) FROM main.{table} AS m "
                    f"WHERE m.{column} IN (SELECT p.{column} FROM prod.{table} AS p)"
                ).fetchone()
            checked.append(ColumnLeaks(rule.table, rule.column, rule.kind, int(row_leaks), set_leaks))
    return MaskingVerification(tuple(checked))


def _check_columns(conn: sqlite3.Connection, rules: Sequence[ColumnRule], schema: str, label: str) -> None:
    tables = set(user_tables(conn, schema))
    for rule in rules:
        if rule.table not in tables:
            raise ValueError(f"masking rule {rule.qualified}: no table {rule.table!r} in {label}")
        if rule.column not in columns(conn, rule.table, schema):
            raise ValueError(f"masking rule {rule.qualified}: no column {rule.column!r} in {label}")
