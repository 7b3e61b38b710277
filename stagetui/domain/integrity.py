"""Referential integrity: foreign keys and how many child rows point at a missing parent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForeignKey:
    table: str
    column: str
    parent_table: str
    parent_column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column} -> {self.parent_table}.{self.parent_column}"


@dataclass(frozen=True)
class OrphanCount:
    foreign_key: ForeignKey
    orphans: int  # child rows with a non-NULL key that matches no parent row


@dataclass(frozen=True)
class IntegrityReport:
    checked: tuple[OrphanCount, ...]

    @property
    def total_orphans(self) -> int:
        return sum(c.orphans for c in self.checked)

    @property
    def ok(self) -> bool:
        return self.total_orphans == 0

    def summary(self) -> str:
        keys = "foreign key" if len(self.checked) == 1 else "foreign keys"
        orphans = "orphan" if self.total_orphans == 1 else "orphans"
        return f"{len(self.checked)} {keys}, {self.total_orphans} {orphans}"
