"""Before any data leaves production: every rule names a real column, and (strict mode) every column of a
sensitive table has a rule."""

from __future__ import annotations

from collections.abc import Sequence

from stagetui.data.engine import DataEngine, DataLocation
from stagetui.domain.anonymize import ColumnRule, uncovered_columns


class UncoveredColumnsError(ValueError):
    """Strict anonymization refused a sensitive table with columns that have no rule."""


def check_rules_cover(
    engine: DataEngine, production: DataLocation, rules: Sequence[ColumnRule], *, strict: bool
) -> None:
    tables = set(engine.tables(production))
    columns: dict[str, list[str]] = {}
    for rule in rules:
        if rule.table not in tables:
            raise ValueError(f"anonymization.tables.{rule.table}: production has no table {rule.table!r}")
        if rule.table not in columns:
            columns[rule.table] = engine.columns(production, rule.table)
        if rule.column not in columns[rule.table]:
            raise ValueError(
                f"anonymization.tables.{rule.table}.{rule.column}: production's {rule.table} has no column "
                f"{rule.column!r}"
            )
    missing = uncovered_columns(rules, columns) if strict else []
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise UncoveredColumnsError(
            f"strict anonymization: {shown} {'has' if len(missing) == 1 else 'have'} no rule; add one under "
            "anonymization.tables (keep for a column without personal data), or set anonymization.strict: "
            "false"
        )
