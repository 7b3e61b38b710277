"""Data fidelity per table, from an environment's recorded checks: what masking changed, what the no-leak
proof found, and how many rows point at missing parents. Pure: the CLI and the TUI render the same rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class TableFidelity:
    table: str
    masked_columns: int = 0
    values_masked: int | None = None
    """None when no masking ran on this environment (a snapshot is masked once, in its golden copy)."""
    leaks: int | None = None
    """Original values found after masking (by key and by value); None when not verified."""
    foreign_keys: int = 0
    orphans: int | None = None
    """None when integrity was not checked."""

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.orphans


def _items(result: Mapping[str, object] | None, key: str) -> list[Mapping[str, object]]:
    found = (result or {}).get(key)
    return [item for item in found if isinstance(item, Mapping)] if isinstance(found, list) else []


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def table_fidelity(
    anonymization: Mapping[str, object] | None,
    masking: Mapping[str, object] | None,
    integrity: Mapping[str, object] | None,
) -> list[TableFidelity]:
    """One row per table named in any of the three check results, sorted by name."""
    tables: dict[str, TableFidelity] = {}

    def row(name: str) -> TableFidelity:
        return tables.setdefault(name, TableFidelity(name))

    for column in _items(anonymization, "columns"):
        if column.get("kind") == "keep":
            continue
        entry = row(str(column.get("table")))
        entry.masked_columns += 1
        entry.values_masked = (entry.values_masked or 0) + _int(column.get("changed"))
    for column in _items(masking, "columns"):
        entry = row(str(column.get("table")))
        if anonymization is None:
            entry.masked_columns += 1
        entry.leaks = (entry.leaks or 0) + _int(column.get("row_leaks")) + _int(column.get("set_leaks"))
    for check in _items(integrity, "foreign_keys"):
        name = check.get("table") or str(check.get("foreign_key", "")).split(".", 1)[0]
        entry = row(str(name))
        entry.foreign_keys += 1
        entry.orphans = (entry.orphans or 0) + _int(check.get("orphans"))
    return sorted(tables.values(), key=lambda t: t.table)
