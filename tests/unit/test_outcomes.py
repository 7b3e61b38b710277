from __future__ import annotations

import datetime as dt

import pytest

from stagetui.domain.models import Strategy
from stagetui.domain.outcomes import (
    OutcomeError,
    OutcomeKind,
    PredictionRow,
    ProductionOutcome,
    parse_outcomes,
    prediction_table,
    unattributed,
)

GOOD = """\ufeffDate,Kind,Severity,Branch,Strategy,Environment ID,Reference,Description,Assignee
2024-05-02,escaped_defect,sev2,feat/cart,snapshot,pr-118,BUG-881,"Coupon applied twice, total negative",ana
2024-05-03T14:20:00+02:00,Incident,,main,Full-Clone,,INC-12,"Checkout 500s
after deploy",
2024-05-04,defect,minor,,,,,,

,,,,,,,,
"""


def test_parses_rows_with_optional_columns_aliases_and_quoted_newlines() -> None:
    outcomes = parse_outcomes(GOOD, "outcomes.csv")
    assert outcomes == [
        ProductionOutcome(
            dt.date(2024, 5, 2),
            "escaped_defect",
            "sev2",
            "feat/cart",
            Strategy.SNAPSHOT,
            "pr-118",
            "BUG-881",
            "Coupon applied twice, total negative",
        ),
        ProductionOutcome(
            dt.date(2024, 5, 3),
            "incident",
            "unknown",
            "main",
            Strategy.FULL_CLONE,
            None,
            "INC-12",
            "Checkout 500s\nafter deploy",
        ),
        ProductionOutcome(dt.date(2024, 5, 4), "escaped_defect", "minor", None, None, None, "", ""),
    ]


def test_only_required_columns() -> None:
    outcomes = parse_outcomes("KIND,DATE\nincident,2024-01-31\n", "o.csv")
    assert outcomes == [
        ProductionOutcome(dt.date(2024, 1, 31), "incident", "unknown", None, None, None, "", "")
    ]


def test_every_bad_row_is_reported_with_source_line_and_column() -> None:
    text = (
        "date,kind,strategy,description\n"
        "2024-13-01,incident,,ok\n"  # line 2
        '2024-05-02,escaped_defect,vm,"multi\nline"\n'  # line 3-4
        ",outage,snapshot,x\n"  # line 5
        "2024-05-02,incident,snapshot,a,b\n"  # line 6
        "2024-05-02,incident,snapshot,fine,,\n"  # trailing empty cells are fine
    )
    with pytest.raises(OutcomeError) as caught:
        parse_outcomes(text, "prod.csv")
    assert caught.value.problems == (
        "prod.csv:2: date: '2024-13-01' is not a date (use YYYY-MM-DD)",
        "prod.csv:3: strategy: 'vm' is not one of full_clone, snapshot, containerized",
        "prod.csv:5: date: missing",
        "prod.csv:5: kind: 'outage' is not escaped_defect or incident",
        "prod.csv:6: row: 5 fields, the header has 4 (put values containing commas in quotes)",
    )
    assert str(caught.value).splitlines()[0] == caught.value.problems[0]


def test_header_problems_are_reported_together() -> None:
    with pytest.raises(OutcomeError) as caught:
        parse_outcomes("Date,Severity,date\n2024-01-01,x,2024-01-01\n", "o.csv")
    assert caught.value.problems == (
        "o.csv:1: date: column appears twice",
        "o.csv:1: kind: required column is missing",
    )


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_empty_file_needs_a_header(text: str) -> None:
    with pytest.raises(OutcomeError, match=r"^o\.csv:1: header: empty file"):
        parse_outcomes(text, "o.csv")


def test_header_only_is_an_empty_list() -> None:
    assert parse_outcomes("date,kind\n", "o.csv") == []


def test_csv_module_errors_become_problems_after_the_earlier_ones() -> None:
    huge = "x" * 200_000  # over the csv module's field size limit
    text = f'date,kind,description\nnope,incident,a\n2024-01-01,incident,"{huge}"\n'
    with pytest.raises(OutcomeError) as caught:
        parse_outcomes(text, "o.csv")
    assert caught.value.problems[0] == "o.csv:2: date: 'nope' is not a date (use YYYY-MM-DD)"
    assert caught.value.problems[1].startswith("o.csv:3: row: field larger than field limit")


def test_long_error_lists_are_shortened_in_the_message_but_kept_whole() -> None:
    text = "date,kind\n" + "bad,incident\n" * 30
    with pytest.raises(OutcomeError) as caught:
        parse_outcomes(text, "o.csv")
    assert len(caught.value.problems) == 30
    assert str(caught.value).splitlines()[-1] == "(and 10 more)"


def _outcome(kind: OutcomeKind, strategy: Strategy | None) -> ProductionOutcome:
    return ProductionOutcome(dt.date(2024, 5, 1), kind, "major", None, strategy, None, "", "")


def test_prediction_table_puts_pass_rates_next_to_escapes_per_100_environments() -> None:
    outcomes = [
        _outcome("escaped_defect", Strategy.CONTAINERIZED),
        _outcome("escaped_defect", Strategy.CONTAINERIZED),
        _outcome("escaped_defect", Strategy.CONTAINERIZED),
        _outcome("incident", Strategy.CONTAINERIZED),
        _outcome("escaped_defect", Strategy.FULL_CLONE),
        _outcome("incident", None),
    ]
    rows = prediction_table(
        {Strategy.CONTAINERIZED: 0.99, Strategy.FULL_CLONE: 0.93},
        outcomes,
        {Strategy.CONTAINERIZED: 50, Strategy.FULL_CLONE: 20, Strategy.SNAPSHOT: 0},
    )
    assert rows == [
        PredictionRow(Strategy.FULL_CLONE, 0.93, 20, 1, 0, 5.0, 0.0),
        PredictionRow(Strategy.SNAPSHOT, None, 0, 0, 0, None, None),
        PredictionRow(Strategy.CONTAINERIZED, 0.99, 50, 3, 1, 6.0, 2.0),
    ]
    assert unattributed(outcomes) == 1


def test_prediction_table_leaves_out_strategies_nobody_mentions() -> None:
    rows = prediction_table({Strategy.SNAPSHOT: None}, [], {})
    assert [row.strategy for row in rows] == [Strategy.SNAPSHOT]
    assert rows[0].defects_per_100_envs is None
