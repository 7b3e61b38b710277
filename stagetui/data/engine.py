"""Data engines behind one interface: where environments' data lives and how it is copied, masked,
checked and subset. SQLite files are the embedded default; PostgreSQL is the real-server engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from stagetui.domain.anonymize import ColumnRule, Masker, MaskingReport, MaskingVerification
from stagetui.domain.changes import ChangeReport
from stagetui.domain.integrity import ForeignKey, IntegrityReport
from stagetui.domain.subset import SubsetReport

ProgressFn = Callable[[float, str], None]


class DataEngineError(RuntimeError):
    """A data operation failed; the message names the database (never with a password) and what failed."""


class IncrementalRefreshUnsafe(DataEngineError):
    """An incremental refresh cannot be done safely (no change column or key, schema changed): refresh in
    full instead. Raised before anything is written."""


@dataclass(frozen=True)
class DataLocation:
    """A database: a SQLite file, or a database on a PostgreSQL server (reached through `dsn`)."""

    engine: Literal["sqlite", "postgres"]
    path: Path | None = None
    dsn: str | None = None
    """PostgreSQL: a connection string to the server (any database); `database` names the one meant."""
    database: str | None = None

    @classmethod
    def sqlite(cls, path: Path) -> DataLocation:
        return cls("sqlite", path=path)

    @classmethod
    def postgres(cls, dsn: str, database: str) -> DataLocation:
        return cls("postgres", dsn=dsn, database=database)

    def describe(self) -> str:
        """For logs and errors: never a password."""
        if self.engine == "sqlite":
            return str(self.path)
        return f"postgres database {self.database}"


class DataEngine(ABC):
    name: str

    # --- reading ----------------------------------------------------------------------------------------
    @abstractmethod
    def exists(self, db: DataLocation) -> bool: ...

    @abstractmethod
    def tables(self, db: DataLocation) -> list[str]: ...

    @abstractmethod
    def columns(self, db: DataLocation, table: str) -> list[str]: ...

    @abstractmethod
    def foreign_keys(self, db: DataLocation) -> list[ForeignKey]:
        """From the catalog of `db` (production's, so checks work where a copy has no constraints)."""

    @abstractmethod
    def row_counts(self, db: DataLocation) -> dict[str, int]: ...

    def size_bytes(self, db: DataLocation) -> int | None:
        """Bytes the database takes (for storage cost); None when unknown."""
        return None

    @abstractmethod
    def newest(self, db: DataLocation, column: str) -> datetime | None:
        """The latest value of `column` (e.g. updated_at) over every table that has it: data as-of."""

    # --- copying ----------------------------------------------------------------------------------------
    @abstractmethod
    def full_copy(
        self, source: DataLocation, target: DataLocation, progress: ProgressFn | None = None
    ) -> None:
        """A consistent copy of everything in `source` as `target` (which must not exist)."""

    @abstractmethod
    def clone(self, golden: DataLocation, target: DataLocation) -> str:
        """The fastest faithful copy of a golden database; returns how ("reflink", "copy", "template")."""

    @abstractmethod
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
        """`fraction` of the rows of `root_table` matching `where` (an SQL condition; all rows when None),
        and every row those rows need, in one consistent read: foreign keys stay valid."""

    @abstractmethod
    def drop(self, db: DataLocation) -> None:
        """Remove it (and its login, see `services_login`); nothing happens if it does not exist."""

    def services_login(self, db: DataLocation) -> DataLocation:
        """`db` as an environment's services reach it. On a server: through a login of its own that
        reaches this database only (once `open_to_services`), so the server's credentials never reach an
        environment. A file needs no login."""
        return db

    def open_to_services(self, db: DataLocation) -> None:
        """Let `services_login`'s login in, once the database is complete."""
        return None  # a file has no logins to let in

    # --- transforming and checking -------------------------------------------------------------------------
    @abstractmethod
    def mask(
        self,
        db: DataLocation,
        rules: Sequence[ColumnRule],
        masker: Masker,
        progress: ProgressFn | None = None,
    ) -> MaskingReport:
        """Mask in place, then purge the original bytes (VACUUM)."""

    @abstractmethod
    def verify_masking(
        self, db: DataLocation, production: DataLocation, rules: Sequence[ColumnRule]
    ) -> MaskingVerification:
        """Prove no original value of a masked column remains: by key and, for identifiers, by value."""

    @abstractmethod
    def integrity(self, db: DataLocation, foreign_keys: Sequence[ForeignKey]) -> IntegrityReport:
        """Orphans per foreign key (the keys come from production's catalog)."""

    @abstractmethod
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
        """Bring a masked copy of `production` (as of `since`) up to date in place: rows whose `column` is
        at or after `since` are masked with `rules` and upserted (parents first), rows no longer in
        production are deleted (children first). Raises IncrementalRefreshUnsafe, before writing, when a
        table lacks `column` or a single-column primary key, or the two schemas differ."""

    @abstractmethod
    def seal_golden(self, db: DataLocation, provenance: dict[str, object]) -> None:
        """Make a finished golden copy ready to hand out (statistics, no connections) and record where it
        came from (source, as-of time, rules version) with it."""

    @abstractmethod
    def read_provenance(self, db: DataLocation) -> dict[str, object] | None:
        """What `seal_golden` recorded with `db`, or None when it was never sealed."""
