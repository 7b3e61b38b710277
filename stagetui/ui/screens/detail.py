"""One environment in full: facts, steps with timings (rollback included), its service log, drift, and the
history of checks made on it. Reloads when an event about it arrives."""

from __future__ import annotations

from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Log, Static, TabbedContent, TabPane

from stagetui.domain.durations import format_duration
from stagetui.domain.fidelity import TableFidelity
from stagetui.domain.models import StepPhase
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.events import EnvironmentChanged, StepFinished
from stagetui.service.queries import EnvironmentDetail
from stagetui.ui.drift_model import drift_tree
from stagetui.ui.messages import DetailLoaded, ServiceEvent
from stagetui.ui.tones import toned
from stagetui.ui.view_models import Tone, freshness_cell
from stagetui.ui.widgets.drift_panel import DriftPanel
from stagetui.ui.widgets.provisioning_panel import MARKS

FIDELITY_COLUMNS = ("table", "masked columns", "values masked", "leaks", "foreign keys", "orphans")


def fidelity_cells(row: TableFidelity) -> tuple[str, ...]:
    """A table's masking, no-leak proof and orphans as cells ('-' for what was not measured)."""

    def count(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    return (
        row.table,
        str(row.masked_columns or "-"),
        count(row.values_masked),
        count(row.leaks),
        str(row.foreign_keys or "-"),
        count(row.orphans),
    )


def facts(detail: EnvironmentDetail, now: datetime) -> str:
    view, env = detail.view, detail.view.environment
    rows = [
        ("environment", f"{env.id}  ·  branch {env.branch}  ·  owner {env.owner}"),
        ("strategy", f"{env.strategy.value} on {env.runtime}"),
        ("status", f"{view.status.value}  {env.status_detail}".rstrip()),
        ("endpoint", env.endpoint or "-"),
        ("provisioned in", format_duration(env.provision_seconds)),
        ("data", f"{env.data_source or '-'}  ·  age {freshness_cell(view.freshness).text}"),
        ("database", env.database or "-"),
        ("integrity", "-" if env.orphans is None else f"{env.orphans} orphan rows"),
        ("expires", f"{env.expires_at:%Y-%m-%d %H:%M} UTC, in {format_duration(env.ttl_left(now))}"),
    ]
    return "\n".join(f"{label:>15}  {value}" for label, value in rows)


class DetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="detail-back", tooltip="Back to the dashboard"),
        Binding("r", "reload", "Reload", id="detail-reload", tooltip="Read the environment again"),
    ]

    def __init__(self, backend: StagetuiService, uid: str, title: str) -> None:
        super().__init__()
        self.backend = backend
        self.uid = uid
        self.sub_title = title

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="detail-facts")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Steps", id="tab-steps"):
                yield DataTable(id="detail-steps", cursor_type="row")
            with TabPane("Log", id="tab-log"):
                yield Log(id="detail-log", highlight=False)
            with TabPane("Drift", id="tab-drift"):
                yield DriftPanel(id="detail-drift")
            with TabPane("Data", id="tab-data"):
                yield DataTable(id="detail-data", cursor_type="row")
            with TabPane("History", id="tab-history"):
                yield DataTable(id="detail-history", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail-steps", DataTable).add_columns("", "step", "time", "share", "detail")
        self.query_one("#detail-history", DataTable).add_columns(
            "when", "check", "ok", "data age then", "summary"
        )
        self.query_one("#detail-data", DataTable).add_columns(*FIDELITY_COLUMNS)
        self.action_reload()

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def action_reload(self) -> None:
        try:
            self.post_message(DetailLoaded(self.uid, self.backend.detail(self.uid)))
        except ServiceError as error:
            self.post_message(DetailLoaded(self.uid, None, str(error)))

    def on_service_event(self, message: ServiceEvent) -> None:
        # Reload on what changes the detail (a finished step, a new status), not on every progress tick.
        event = message.event
        if event.environment_uid == self.uid and isinstance(event, StepFinished | EnvironmentChanged):
            self.action_reload()

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.detail is None:
            self.query_one("#detail-facts", Static).update(f"✗ {message.error}")
            return
        detail, now = message.detail, self.backend.now()
        self.query_one("#detail-facts", Static).update(facts(detail, now))
        self._steps(detail)
        log = self.query_one("#detail-log", Log)
        log.clear()
        log.write_lines(detail.log_tail or ["(no log lines)"])
        drift = detail.latest_check("drift")
        self.query_one("#detail-drift", DriftPanel).show(
            drift_tree(detail.view.environment.id, drift.result if drift else None)
        )
        self._fidelity(detail)
        history = self.query_one("#detail-history", DataTable)
        history.clear()
        as_of = detail.view.environment.data_as_of
        for check in reversed(detail.checks):
            age = format_duration(check.at - as_of) if as_of else "n/a"
            history.add_row(
                f"{check.at:%m-%d %H:%M:%S}", check.kind, "✓" if check.ok else "✗", age, check.summary
            )
        self.query_one("#detail-facts", Static).border_title = detail.view.status.value

    def _steps(self, detail: EnvironmentDetail) -> None:
        table = self.query_one("#detail-steps", DataTable)
        table.clear()
        provision = [s for s in detail.steps if s.phase is StepPhase.PROVISION]
        total = sum(s.seconds for s in provision) or 1.0
        slowest = max(provision, key=lambda s: s.seconds, default=None)
        for step in detail.steps:
            symbol, tone = MARKS[step.outcome]
            mark = toned(self.app, symbol, Tone(tone.removeprefix("$")))
            name = step.name if step.phase is StepPhase.PROVISION else f"{step.phase.value}: {step.name}"
            share = f"{step.seconds / total:.0%}" if step.phase is StepPhase.PROVISION else ""
            label = toned(self.app, name, Tone.ACCENT) if step is slowest else name
            table.add_row(mark, label, format_duration(step.seconds), share, step.detail)

    def _fidelity(self, detail: EnvironmentDetail) -> None:
        table = self.query_one("#detail-data", DataTable)
        table.clear()
        for row in detail.fidelity():
            cells = fidelity_cells(row)
            name = row.table if row.ok else toned(self.app, row.table, Tone.ERROR)
            table.add_row(name, *cells[1:])

    def action_back(self) -> None:
        self.dismiss(None)
