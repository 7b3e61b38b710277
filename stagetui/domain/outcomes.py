"""Production outcomes (escaped defects and incidents) from a team's CSV export, and how well each strategy's
test results predicted them.

The CSV needs a header row. Column names are case-insensitive (spaces and dashes count as underscores):

- required: `date` (ISO: `2024-05-02`, a timestamp is cut to its date), `kind` (`escaped_defect` or
  `incident`; `defect` is accepted for the former);
- optional: `severity` (free text such as `sev2` or `major`; default `unknown`), `branch`, `strategy`
  (`full_clone`, `snapshot`, `containerized`), `environment` (or `environment_id`), `reference` (ticket or
  postmortem id), `description`.

Other columns are ignored, so a tracker export can be used as is. Pure: the caller reads the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from stagetui.domain.models import Strategy

OutcomeKind = Literal["escaped_defect", "incident"]

_KINDS: dict[str, OutcomeKind] = {
    "escaped_defect": "escaped_defect",
    "defect": "escaped_defect",
    "incident": "incident",
}
_ALIASES = {"environment_id": "environment"}
_REQUIRED = ("date", "kind")
_OPTIONAL = ("severity", "branch", "strategy", "environment", "reference", "description")
_SEPARATORS = re.compile(r"[\s\-]+")
MAX_PROBLEMS_SHOWN = 20


class OutcomeError(ValueError):
    """A CSV that cannot be read; `problems` holds every `source:line: column: problem` found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        shown = list(self.problems[:MAX_PROBLEMS_SHOWN])
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"(and {len(self.problems) - MAX_PROBLEMS_SHOWN} more)")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class ProductionOutcome:
    date: dt.date
    kind: OutcomeKind
    severity: str
    branch: str | None
    strategy: Strategy | None
    environment_id: str | None
    reference: str
    description: str


def _normalise(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().lower())


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _header(row: list[str], where: str) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    problems: list[str] = []
    for index, raw in enumerate(row):
        name = _normalise(raw)
        name = _ALIASES.get(name, name)
        if name not in _REQUIRED and name not in _OPTIONAL:
            continue
        if name in columns:
            problems.append(f"{where}: {name}: column appears twice")
        columns.setdefault(name, index)
    problems.extend(
        f"{where}: {name}: required column is missing" for name in _REQUIRED if name not in columns
    )
    return columns, problems


def _row(values: dict[str, str], where: str, problems: list[str]) -> ProductionOutcome | None:
    found = len(problems)
    day = _parse_date(values["date"]) if values["date"] else None
    if not values["date"]:
        problems.append(f"{where}: date: missing")
    elif day is None:
        problems.append(f"{where}: date: {values['date']!r} is not a date (use YYYY-MM-DD)")
    kind = _KINDS.get(_normalise(values["kind"]))
    if kind is None:
        problem = "missing" if not values["kind"] else f"{values['kind']!r} is not escaped_defect or incident"
        problems.append(f"{where}: kind: {problem}")
    strategy: Strategy | None = None
    if values["strategy"]:
        try:
            strategy = Strategy(_normalise(values["strategy"]))
        except ValueError:
            choices = ", ".join(member.value for member in Strategy)
            problems.append(f"{where}: strategy: {values['strategy']!r} is not one of {choices}")
    if len(problems) > found or day is None or kind is None:
        return None
    return ProductionOutcome(
        date=day,
        kind=kind,
        severity=values["severity"] or "unknown",
        branch=values["branch"] or None,
        strategy=strategy,
        environment_id=values["environment"] or None,
        reference=values["reference"],
        description=values["description"],
    )


def parse_outcomes(text: str, source: str) -> list[ProductionOutcome]:
    """Outcomes in file order. Raises OutcomeError listing every bad row, not only the first."""
    # newline="" lets the csv module see quoted line breaks inside descriptions; Excel adds a BOM.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    columns: dict[str, int] | None = None
    width = 0
    problems: list[str] = []
    outcomes: list[ProductionOutcome] = []
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(f"{source}:{start}: row: {error}")
            break
        where = f"{source}:{start}"
        start = reader.line_num + 1  # the next row starts after this one's last line (quoted newlines)
        if not any(cell.strip() for cell in row):
            continue  # blank lines and Excel's trailing `,,,,` rows
        if columns is None:
            columns, header_problems = _header(row, where)
            if header_problems:
                raise OutcomeError(header_problems)
            width = len(row)
            continue
        # Extra empty cells are spreadsheet noise; extra values mean a comma inside an unquoted field.
        if any(cell.strip() for cell in row[width:]):
            hint = "put values containing commas in quotes"
            problems.append(f"{where}: row: {len(row)} fields, the header has {width} ({hint})")
        values = {name: row[index].strip() if index < len(row) else "" for name, index in columns.items()}
        values.update({name: "" for name in _OPTIONAL if name not in columns})
        outcome = _row(values, where, problems)
        if outcome is not None:
            outcomes.append(outcome)
    if columns is None:
        problems.insert(0, f"{source}:1: header: empty file, expected a header row with date and kind")
    if problems:
        raise OutcomeError(problems)
    return outcomes


@dataclass(frozen=True)
class PredictionRow:
    """One strategy's test pass rate next to what escaped to production from its environments.

    Read it as: a high pass rate with few escapes per 100 environments means green tests were trustworthy;
    a high pass rate with many escapes means the strategy's environments miss what production hits (stale or
    synthetic data, drifted config), so its green runs predict production poorly.
    """

    strategy: Strategy
    pass_rate: float | None
    environments: int
    escaped_defects: int
    incidents: int
    defects_per_100_envs: float | None
    """None when there were no environments to divide by."""
    incidents_per_100_envs: float | None


def prediction_table(
    pass_rates: Mapping[Strategy, float | None],
    outcomes: Iterable[ProductionOutcome],
    strategy_environment_counts: Mapping[Strategy, int],
) -> list[PredictionRow]:
    """Rows in Strategy order, for every strategy present in any of the inputs.

    Only outcomes with a strategy count (callers may fill it from the environment's record first); pass
    rates, outcomes and counts should cover the same period, which the caller chooses.
    """
    defects: dict[Strategy, int] = {}
    incidents: dict[Strategy, int] = {}
    for outcome in outcomes:
        if outcome.strategy is None:
            continue
        tally = defects if outcome.kind == "escaped_defect" else incidents
        tally[outcome.strategy] = tally.get(outcome.strategy, 0) + 1
    present = set(pass_rates) | set(strategy_environment_counts) | set(defects) | set(incidents)
    rows: list[PredictionRow] = []
    for strategy in Strategy:
        if strategy not in present:
            continue
        envs = strategy_environment_counts.get(strategy, 0)
        escaped, incident = defects.get(strategy, 0), incidents.get(strategy, 0)
        rows.append(
            PredictionRow(
                strategy=strategy,
                pass_rate=pass_rates.get(strategy),
                environments=envs,
                escaped_defects=escaped,
                incidents=incident,
                defects_per_100_envs=100 * escaped / envs if envs > 0 else None,
                incidents_per_100_envs=100 * incident / envs if envs > 0 else None,
            )
        )
    return rows


def unattributed(outcomes: Iterable[ProductionOutcome]) -> int:
    """How many outcomes name no strategy, so a table can say what it left out."""
    return sum(1 for outcome in outcomes if outcome.strategy is None)
