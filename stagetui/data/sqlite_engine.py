"""The embedded default engine: every database is a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from stagetui.data import sqlite_schema
from stagetui.data.engine import DataEngine, DataEngineError, DataLocation, ProgressFn
from stagetui.data.sqlite_changes import apply_changes, parse_timestamp
from stagetui.data.sqlite_copy import backup_copy, fast_copy
from stagetui.data.sqlite_integrity import count_orphans
from stagetui.data.sqlite_masking import apply_masking, verify_masking
from stagetui.data.sqlite_schema import connect_readonly, connect_writable, quote
from stagetui.data.sqlite_subset import subset_copy
from stagetui.domain.anonymize import ColumnRule, Masker, MaskingReport, MaskingVerification
from stagetui.domain.changes import ChangeReport
from stagetui.domain.integrity import ForeignKey, IntegrityReport, OrphanCount
from stagetui.domain.subset import SubsetReport
from stagetui.store.atomic import atomic_write_text

PROVENANCE_SUFFIX = ".provenance.json"
_SIDECARS = ("-journal", "-wal", "-shm", PROVENANCE_SUFFIX)


def _path(db: DataLocation) -> Path:
    if db.engine != "sqlite" or db.path is None:
        raise DataEngineError(f"{db.describe()} is not a SQLite database")
    return db.path


@contextmanager
def _errors(db: DataLocation) -> Iterator[None]:
    """SQLite's errors (a file that is not a database, a locked file) named with the file they are about."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DataEngineError(f"{db.describe()}: {exc}") from exc


class SqliteEngine(DataEngine):
    name = "sqlite"

    def exists(self, db: DataLocation) -> bool:
        return _path(db).is_file()

    def tables(self, db: DataLocation) -> list[str]:
        with _errors(db):
            return sqlite_schema.table_names(_path(db))

    def columns(self, db: DataLocation, table: str) -> list[str]:
        with _errors(db), closing(connect_readonly(_path(db))) as conn:
            return sqlite_schema.columns(conn, table)

    def foreign_keys(self, db: DataLocation) -> list[ForeignKey]:
        with _errors(db):
            return sqlite_schema.foreign_keys(_path(db))

    def row_counts(self, db: DataLocation) -> dict[str, int]:
        with _errors(db):
            return sqlite_schema.row_counts(_path(db))

    def size_bytes(self, db: DataLocation) -> int | None:
        path = _path(db)
        return path.stat().st_size if path.is_file() else None

    def newest(self, db: DataLocation, column: str) -> datetime | None:
        newest: datetime | None = None
        with _errors(db), closing(connect_readonly(_path(db))) as conn:
            for table in sqlite_schema.user_tables(conn):
                if column not in sqlite_schema.columns(conn, table):
                    continue
                (value,) = conn.execute(f"SELECT max({quote(column)}) FROM {quote(table)}").fetchone()
                stamp = parse_timestamp(value)
                if stamp is not None and (newest is None or stamp > newest):
                    newest = stamp
        return newest

    def full_copy(
        self, source: DataLocation, target: DataLocation, progress: ProgressFn | None = None
    ) -> None:
        with _errors(source):
            backup_copy(_path(source), _path(target), progress)

    def clone(self, golden: DataLocation, target: DataLocation) -> str:
        with _errors(golden):
            return fast_copy(_path(golden), _path(target))

    def subset(
        self,
        source: DataLocation,
        target: DataLocation,
        root_table: str,
        fraction: float,
        seed: int,
        where: str | None = None,
        progress: ProgressFn | None = None,
    ) -> SubsetReport:
        with _errors(source):
            return subset_copy(_path(source), _path(target), root_table, fraction, seed, progress, where)

    def drop(self, db: DataLocation) -> None:
        path = _path(db)
        for suffix in _SIDECARS:
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        path.unlink(missing_ok=True)

    def mask(
        self,
        db: DataLocation,
        rules: Sequence[ColumnRule],
        masker: Masker,
        progress: ProgressFn | None = None,
    ) -> MaskingReport:
        with _errors(db):
            return apply_masking(_path(db), rules, masker, progress)

    def verify_masking(
        self, db: DataLocation, production: DataLocation, rules: Sequence[ColumnRule]
    ) -> MaskingVerification:
        with _errors(db):
            return verify_masking(_path(db), _path(production), rules)

    def integrity(self, db: DataLocation, foreign_keys: Sequence[ForeignKey]) -> IntegrityReport:
        with _errors(db), closing(connect_readonly(_path(db))) as conn:
            return IntegrityReport(tuple(OrphanCount(fk, count_orphans(conn, fk)) for fk in foreign_keys))

    def apply_changes(
        self,
        copy: DataLocation,
        production: DataLocation,
        since: datetime,
        rules: Sequence[ColumnRule],
        masker: Masker,
        column: str = "updated_at",
        progress: ProgressFn | None = None,
    ) -> ChangeReport:
        with _errors(copy):
            return apply_changes(_path(copy), _path(production), since, rules, masker, column, progress)

    def seal_golden(self, db: DataLocation, provenance: dict[str, object]) -> None:
        path = _path(db)
        with _errors(db), closing(connect_writable(path)) as conn:
            conn.execute("ANALYZE")
        # A sidecar, not a table: a table would change the schema the application sees.
        sidecar = path.with_name(path.name + PROVENANCE_SUFFIX)
        atomic_write_text(sidecar, json.dumps(provenance, indent=2, default=str) + "\n")

    def read_provenance(self, db: DataLocation) -> dict[str, object] | None:
        path = _path(db)
        sidecar = path.with_name(path.name + PROVENANCE_SUFFIX)
        if not sidecar.is_file():
            return None
        loaded = json.loads(sidecar.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else None
