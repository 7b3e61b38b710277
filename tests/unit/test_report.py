"""The report is parsed back with markdown-it (what Rich renders Markdown with) to check its structure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from stagetui.domain.report import (
    NONE_YET,
    BenchmarkLine,
    ExperimentLine,
    ReportData,
    RetroNote,
    StrategyRow,
    demote_headings,
    render_report,
)

NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
SECRET = "hunter2"
NOTE_BODY = f"""# What happened

Snapshot restore took 14 minutes; the DSN was postgres://app:{SECRET}@db.internal:5432/shop.

## Why
Setext heading
==============

```python
# not a heading: code
print("keep")
```

Plain text | with a pipe.
"""


def _tokens(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def _text(inline: Token) -> str:
    """What a reader sees of an inline token: escapes resolved, soft line breaks as spaces."""
    parts = {"softbreak": " ", "hardbreak": " "}
    return "".join(parts.get(child.type, child.content) for child in inline.children or [])


def _headings(markdown: str) -> list[tuple[str, str]]:
    tokens = _tokens(markdown)
    return [(tok.tag, _text(tokens[i + 1])) for i, tok in enumerate(tokens) if tok.type == "heading_open"]


def _table_rows(markdown: str, after_heading: str) -> list[list[str]]:
    """Cells of the first table after the `## after_heading` heading, header row included."""
    tokens = _tokens(markdown)
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and _text(t) == after_heading)
    rows: list[list[str]] = []
    for tok in tokens[start:]:
        if tok.type == "table_close":
            break
        if tok.type == "tr_open":
            rows.append([])
        elif tok.type == "inline" and rows:
            rows[-1].append(_text(tok))
    return rows


def _data(**overrides: Any) -> ReportData:
    base = ReportData(
        title="Test environments: May review",
        generated_at=NOW,
        currency="EUR",
        strategies=(
            StrategyRow(
                "snapshot", 42.0, 95.5, timedelta(hours=5), 0.25, 1.2, 0.975, 12, "PR checks | fast feedback"
            ),
            StrategyRow("full_clone", 610.0, None, 90.0, None, None, None, 3),
        ),
        benchmarks=(BenchmarkLine("provision p90", 95.5, 120.0, 90.0, "improving", "s"),),
        experiments=(
            ExperimentLine(
                "smaller-snapshots",
                f"Subsetting cuts restore time\nsee mysql://ci:{SECRET}@bench/x",
                "running",
                "a|b\\|c",
            ),
        ),
        notes=(RetroNote("Restore was slow #", "experiment: smaller-snapshots", NOW, NOTE_BODY),),
        budget_lines=("snapshot: €84.20 of €100.00 this month (84%)", "full_clone: over budget\nby €12"),
    )
    return replace(base, **overrides)


def test_sections_nest_and_note_headings_are_demoted_below_the_note() -> None:
    report = render_report(_data())
    assert _headings(report) == [
        ("h1", "Test environments: May review"),
        ("h2", "Strategy comparison"),
        ("h2", "Benchmarks"),
        ("h2", "Experiments"),
        ("h2", "Budget"),
        ("h2", "Retrospective notes"),
        ("h3", "Restore was slow #"),
        ("h4", "What happened"),
        ("h5", "Why"),
        ("h4", "Setext heading"),
    ]
    assert '# not a heading: code\nprint("keep")' in report
    assert report.startswith("# Test environments: May review\n\nGenerated 2024-05-02 09:30 UTC.\n")
    assert report.endswith("Plain text | with a pipe.\n")


def test_tables_keep_their_columns_with_pipes_and_newlines_in_text() -> None:
    report = render_report(_data())
    strategies = _table_rows(report, "Strategy comparison")
    assert strategies[0][0] == "Strategy"
    assert strategies[1] == [
        "snapshot",
        "12",
        "42.0s",
        "1m35s",
        "5h00m",
        "0.25",
        "€1.20",
        "97.5%",
        "PR checks | fast feedback",
    ]
    assert strategies[2] == ["full_clone", "3", "10m10s", "-", "1m30s", "-", "-", "-", "-"]
    assert _table_rows(report, "Benchmarks")[1] == ["provision p90", "95.5 s", "120 s", "90 s", "improving"]
    experiment = _table_rows(report, "Experiments")[1]
    assert experiment[0] == "smaller-snapshots"
    assert experiment[1].startswith("Subsetting cuts restore time see mysql://")
    assert experiment[3] == "a|b\\|c"
    assert "- full_clone: over budget by €12" in report


def test_passwords_never_appear_in_notes_or_tables() -> None:
    report = render_report(_data(title=f"Review of https://u:{SECRET}@host/x"))
    assert SECRET not in report
    assert "postgres://app:***@db.internal:5432/shop" in report
    assert "mysql://ci:***@bench/x" in report


def test_empty_sections_say_none_yet() -> None:
    report = render_report(ReportData(title="Empty", generated_at=NOW))
    assert [h for _, h in _headings(report)][1:] == [
        "Strategy comparison",
        "Benchmarks",
        "Experiments",
        "Budget",
        "Retrospective notes",
    ]
    assert report.count(NONE_YET) == 5
    assert "|" not in report


def test_an_unclosed_fence_in_a_note_cannot_swallow_the_rest_of_the_report() -> None:
    notes = (
        RetroNote("First", "benchmark: p90", NOW, "```\nunterminated"),
        RetroNote("Second", "benchmark: p90", NOW, "## Still a heading"),
    )
    report = render_report(_data(notes=notes))
    assert ("h3", "Second") in _headings(report)
    assert ("h5", "Still a heading") in _headings(report)


def test_demotion_clamps_at_level_six_and_keeps_fences_of_either_kind() -> None:
    text = "##### deep\n~~~\n# in tilde fence\n```\n# still inside (a ``` cannot close ~~~)\n~~~~\n# out"
    assert demote_headings(text, 3).splitlines() == [
        "###### deep",
        "~~~",
        "# in tilde fence",
        "```",
        "# still inside (a ``` cannot close ~~~)",
        "~~~~",
        "#### out",
    ]


def test_demotion_ignores_things_that_only_look_like_headings() -> None:
    text = "#hashtag\n    # indented code\n- item\n---\n\nmulti line\nparagraph\n---"
    assert demote_headings(text, 2).splitlines() == [
        "#hashtag",
        "    # indented code",
        "- item",
        "---",
        "",
        "#### multi line paragraph",
    ]


def test_benchmark_numbers_are_readable() -> None:
    lines = (
        BenchmarkLine("big", 1234567.891, 0, 0.0042, "ok"),
        BenchmarkLine("none", None, None, None, ""),
    )
    rows = _table_rows(render_report(_data(benchmarks=lines)), "Benchmarks")
    assert rows[1:] == [["big", "1,234,567.89", "0", "0.0042", "ok"], ["none", "-", "-", "-", "-"]]


def test_pipes_and_backslashes_in_cells_survive_markdown_parsing() -> None:
    tricky = "a \\| b | c \\\\ d"
    report = render_report(_data(experiments=(ExperimentLine(tricky, "h", "s", "r"),)))
    assert _table_rows(report, "Experiments")[1][0] == tricky
