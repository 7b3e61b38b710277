"""A Markdown report for a team meeting: strategies side by side, benchmarks, experiments, budget and
retrospective notes. Pure: everything, the generation time included, comes in through `ReportData`.

Secrets: every piece of text goes through `redact_value` (passwords in URLs and `password=` pairs), and the
whole document once more at the end. Beyond that, notes are the team's own text and are included as written:
do not paste secrets into them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from stagetui.domain.cost import format_money
from stagetui.domain.durations import format_duration
from stagetui.domain.secrets import redact_value

NONE_YET = "None yet."
MISSING = "-"
NOTE_HEADING_LEVEL = 3
"""Notes are `###` under `## Retrospective notes`; their own headings start one level below."""
MAX_HEADING_LEVEL = 6

_ATX = re.compile(r"^(?P<indent> {0,3})(?P<hashes>#{1,6})(?P<rest>[ \t].*|)$")
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SETEXT = re.compile(r"^ {0,3}(?P<underline>=+|-+)[ \t]*$")
# Block quotes and list items interrupt a paragraph: an `===`/`---` under them is no setext underline.
_INTERRUPTS = re.compile(r"^ {0,3}(?:>|[-*+][ \t]|\d{1,9}[.)][ \t])")
# Indented code cannot interrupt a paragraph (it continues it) but does not start one either.
_INDENTED = re.compile(r"^(?: {4,}|\t)")


@dataclass(frozen=True)
class StrategyRow:
    strategy: str
    p50_seconds: float | None
    """Provisioning time, median."""
    p90_seconds: float | None
    data_age: timedelta | float | None
    """Freshness: typical (median) age of the environments' data; a float is seconds."""
    drift: float | None
    """Typical (median) number of unapproved config differences from production per environment."""
    cost_per_env_day: float | None
    pass_rate: float | None
    """Share of tests that passed among those that ran, 0..1."""
    environments: int
    best_for: str = ""


@dataclass(frozen=True)
class BenchmarkLine:
    name: str
    value: float | None
    baseline: float | None
    target: float | None
    status: str
    unit: str = ""


@dataclass(frozen=True)
class ExperimentLine:
    name: str
    hypothesis: str
    status: str
    result_summary: str = ""


@dataclass(frozen=True)
class RetroNote:
    title: str
    linked_to: str
    """What the note is about, e.g. `experiment: snapshot-ttl` or `benchmark: provision_p90`."""
    created_at: datetime
    body: str
    """Markdown, included as written except for password redaction and heading demotion."""


@dataclass(frozen=True)
class ReportData:
    title: str
    generated_at: datetime
    currency: str = "USD"
    strategies: Sequence[StrategyRow] = ()
    benchmarks: Sequence[BenchmarkLine] = ()
    experiments: Sequence[ExperimentLine] = ()
    notes: Sequence[RetroNote] = ()
    budget_lines: Sequence[str] = ()


def _redact(text: str) -> str:
    redacted = redact_value(text)
    assert isinstance(redacted, str)  # redact_value maps str to str
    return redacted


def _inline(text: str) -> str:
    """One line of redacted text: line breaks would end a table row or list item early."""
    return " ".join(_redact(text).split())


def _cell(text: str) -> str:
    # Backslashes first so an existing `\|` cannot become an escaped backslash followed by a cell border.
    return _inline(text).replace("\\", "\\\\").replace("|", "\\|") or MISSING


def _heading_text(text: str) -> str:
    inline = _inline(text)
    # A trailing run of `#` would be read as the heading's optional closing sequence and vanish.
    return inline[:-1] + "\\#" if inline.endswith("#") else inline


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return MISSING
    # Below 1, keep significant digits (0.0042, not 0.00); above, two decimals at most and no trailing zeros.
    text = f"{value:.3g}" if 0 < abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def _money(value: float | None, currency: str) -> str:
    return MISSING if value is None else _cell(format_money(value, currency))


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"


def _table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def demote_headings(markdown: str, levels: int) -> str:
    """Push every heading down by `levels` (at most to `######`), leaving fenced code alone.

    Setext headings (`Title` over `===`) become ATX headings so they can be demoted too. A fence the note
    leaves open is closed, or it would swallow the rest of the report.
    """
    out: list[str] = []
    paragraph_start: int | None = None  # index in `out` of the current paragraph's first line
    fence: str | None = None
    for line in markdown.splitlines():
        fence_match = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            # Closed by the same character, at least as long as the opener, with nothing after it.
            if fence_match and fence_match["fence"].startswith(fence) and not fence_match["info"].strip():
                fence = None
            continue
        # A backtick in a backtick fence's info string makes it inline code, not a fence (CommonMark).
        if fence_match and not (fence_match["fence"][0] == "`" and "`" in fence_match["info"]):
            fence = fence_match["fence"]
            paragraph_start = None
            out.append(line)
            continue
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if atx is not None:
            level = min(len(atx["hashes"]) + levels, MAX_HEADING_LEVEL)
            out.append(f"{atx['indent']}{'#' * level}{atx['rest']}")
            paragraph_start = None
        elif setext is not None and paragraph_start is not None:
            text = " ".join(part.strip() for part in out[paragraph_start:])
            base = 1 if setext["underline"][0] == "=" else 2
            del out[paragraph_start:]
            out.append(f"{'#' * min(base + levels, MAX_HEADING_LEVEL)} {text}")
            paragraph_start = None
        elif not line.strip() or _INTERRUPTS.match(line):
            out.append(line)
            paragraph_start = None
        else:
            if paragraph_start is None and not _INDENTED.match(line):
                paragraph_start = len(out)
            out.append(line)
    if fence is not None:
        out.append(fence)
    return "\n".join(out)


def _strategies(data: ReportData) -> list[str]:
    rows = [
        [
            _cell(row.strategy),
            str(row.environments),
            format_duration(row.p50_seconds),
            format_duration(row.p90_seconds),
            format_duration(row.data_age),
            _number(row.drift),
            MISSING
            if row.cost_per_env_day is None
            else _cell(format_money(row.cost_per_env_day, data.currency)),
            _percent(row.pass_rate),
            _cell(row.best_for),
        ]
        for row in data.strategies
    ]
    header = ["Strategy", "Envs", "p50 provision", "p90 provision", "Data age", "Drift / env"]
    header += ["Cost / env / day", "Pass rate", "Best for"]
    return _table(header, ["---", *["---:"] * 7, "---"], rows)


def _benchmarks(data: ReportData) -> list[str]:
    rows = [
        [
            _cell(line.name),
            _number(line.value, _inline(line.unit)),
            _number(line.baseline, _inline(line.unit)),
            _number(line.target, _inline(line.unit)),
            _cell(line.status),
        ]
        for line in data.benchmarks
    ]
    return _table(["Benchmark", "Value", "Baseline", "Target", "Status"], ["---", *["---:"] * 3, "---"], rows)


def _experiments(data: ReportData) -> list[str]:
    rows = [
        [_cell(e.name), _cell(e.hypothesis), _cell(e.status), _cell(e.result_summary)]
        for e in data.experiments
    ]
    return _table(["Experiment", "Hypothesis", "Status", "Result"], ["---"] * 4, rows)


def _notes(data: ReportData) -> list[str]:
    lines: list[str] = []
    for note in data.notes:
        when = note.created_at.strftime("%Y-%m-%d %H:%M")
        lines += [f"{'#' * NOTE_HEADING_LEVEL} {_heading_text(note.title) or '(untitled)'}", ""]
        lines += [f"_Linked to {_inline(note.linked_to) or 'nothing'}, written {when}._", ""]
        body = demote_headings(_redact(note.body), NOTE_HEADING_LEVEL).strip("\n")
        lines += [body, ""] if body.strip() else []
    return lines[:-1]


def _section(title: str, lines: list[str], present: bool) -> list[str]:
    return [f"## {title}", "", *(lines if present else [NONE_YET]), ""]


def render_report(data: ReportData) -> str:
    """The report as Markdown; empty sections say so instead of disappearing."""
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    lines = [f"# {_heading_text(data.title) or 'Report'}", "", f"Generated {generated}.", ""]
    lines += _section("Strategy comparison", _strategies(data), bool(data.strategies))
    lines += _section("Benchmarks", _benchmarks(data), bool(data.benchmarks))
    lines += _section("Experiments", _experiments(data), bool(data.experiments))
    lines += _section("Budget", [f"- {_inline(line)}" for line in data.budget_lines], bool(data.budget_lines))
    lines += _section("Retrospective notes", _notes(data), bool(data.notes))
    # Belt and braces: text assembled above (a currency, a unit) must not carry a password either.
    return _redact("\n".join(lines).rstrip("\n") + "\n")
