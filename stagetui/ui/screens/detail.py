"""One environment in full: facts, steps with timings (rollback included), its service log, drift, and the
history of checks made on it. Reloads when an event about it arrives."""

from __future__ import annotations

import time
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Log, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from stagetui.domain.durations import format_duration
from stagetui.domain.fidelity import TableFidelity
from stagetui.domain.models import StepPhase
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.events import EnvironmentChanged, StepFinished
from stagetui.service.queries import EnvironmentDetail
from stagetui.ui.drift_model import drift_tree
from stagetui.ui.messages import DetailLoaded, LogLines, ServiceEvent
from stagetui.ui.tones import plain, toned
from stagetui.ui.view_models import Tone, freshness_cell
from stagetui.ui.widgets.drift_panel import DriftPanel
from stagetui.ui.widgets.provisioning_panel import MARKS
from stagetui.ui.widgets.services_panel import ServicesPanel

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


def cost_fact(detail: EnvironmentDetail) -> str:
    if detail.cost_per_day is None:
        return "-"
    billed = f"  ·  billed so far {detail.billed:.2f}" if detail.billed is not None else ""
    return f"{detail.currency} {detail.cost_per_day:.2f} per day (estimate){billed}"


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
        ("cost", cost_fact(detail)),
        ("expires", f"{env.expires_at:%Y-%m-%d %H:%M} UTC, in {format_duration(env.ttl_left(now))}"),
    ]
    return "\n".join(f"{label:>15}  {value}" for label, value in rows)


class DetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="detail-back", tooltip="Back to the dashboard"),
        Binding("r", "reload", "Reload", id="detail-reload", tooltip="Read the environment again"),
        Binding(
            "f",
            "follow",
            "Follow log",
            id="detail-follow",
            tooltip="Stream the services' log as it is written (again to stop); enter on a service: its own",
        ),
    ]

    def __init__(self, backend: StagetuiService, uid: str, title: str) -> None:
        super().__init__()
        self.backend = backend
        self.uid = uid
        self.sub_title = title
        self.following: str | None = None
        """What the log tab streams: "" for every service, a service's name, None when not streaming."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="detail-facts", markup=False)  # quotes the branch
        with TabbedContent(id="detail-tabs"):
            with TabPane("Steps", id="tab-steps"):
                yield DataTable(id="detail-steps", cursor_type="row")
            with TabPane("Services", id="tab-services"):
                yield ServicesPanel(id="detail-services")
            with TabPane("Log", id="tab-log"):
                yield Log(id="detail-log", highlight=False, max_lines=5_000)
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
        self.query_one("#detail-services", ServicesPanel).show(detail.services)
        if self.following is None:  # a streaming log keeps what it shows
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
            ok = "✓" if check.ok else "✗"
            history.add_row(f"{check.at:%m-%d %H:%M:%S}", check.kind, ok, age, plain(check.summary))
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
            label = toned(self.app, name, Tone.ACCENT) if step is slowest else plain(name)
            table.add_row(mark, label, format_duration(step.seconds), share, plain(step.detail))

    def _fidelity(self, detail: EnvironmentDetail) -> None:
        table = self.query_one("#detail-data", DataTable)
        table.clear()
        for row in detail.fidelity():
            cells = fidelity_cells(row)
            name = plain(row.table) if row.ok else toned(self.app, row.table, Tone.ERROR)
            table.add_row(name, *cells[1:])

    def action_follow(self) -> None:
        if self.following is not None:
            self._stop_following()
        else:
            self._follow("")

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        if message.data_table.id == "detail-services" and message.row_key.value is not None:
            self._follow(str(message.row_key.value))

    def _follow(self, service: str) -> None:
        self.following = service
        log = self.query_one("#detail-log", Log)
        log.write_line(f"── following {service or 'every service'} (f to stop) ──")
        self.query_one("#detail-tabs", TabbedContent).active = "tab-log"
        self._stream_log(service or None)

    def _stop_following(self) -> None:
        self.workers.cancel_group(self, "follow")
        self.query_one("#detail-log", Log).write_line("── stopped following ──")
        self.following = None

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _stream_log(self, service: str | None) -> None:
        worker = get_current_worker()
        batch: list[str] = []
        last_post = time.monotonic()
        try:
            for line in self.backend.follow_logs(self.uid, service, lambda: worker.is_cancelled):
                batch.append(line)
                # Batched: a chatty service must not flood the message queue with one message per line.
                if time.monotonic() - last_post > 0.1:
                    self.post_message(LogLines(self.uid, batch))
                    batch, last_post = [], time.monotonic()
        except ServiceError as error:
            batch.append(f"✗ {error}")
        if batch:
            self.post_message(LogLines(self.uid, batch))

    def on_log_lines(self, message: LogLines) -> None:
        if message.reference == self.uid and self.following is not None:
            self.query_one("#detail-log", Log).write_lines(message.lines)

    def action_back(self) -> None:
        self.workers.cancel_group(self, "follow")
        self.dismiss(None)
