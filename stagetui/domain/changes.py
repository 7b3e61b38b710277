"""What an incremental refresh changed: rows upserted and deleted per table, and the new as-of time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TableChanges:
    table: str
    upserted: int
    """Rows changed in production since the last as-of time (new or updated), copied masked."""
    deleted: int
    """Rows gone from production, deleted from the copy."""


@dataclass(frozen=True)
class ChangeReport:
    since: datetime
    as_of: datetime | None
    """The newest change time seen in production: the refreshed copy's new data as-of time."""
    tables: tuple[TableChanges, ...]

    @property
    def upserted(self) -> int:
        return sum(t.upserted for t in self.tables)

    @property
    def deleted(self) -> int:
        return sum(t.deleted for t in self.tables)

    def summary(self) -> str:
        return f"{self.upserted:,} rows changed, {self.deleted:,} deleted in {len(self.tables)} tables"
