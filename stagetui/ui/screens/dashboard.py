"""The dashboard: environments, provisioning in flight, freshness, and the selection's drift — live.

Data flows in as messages (service events relayed from the engine thread, reconciliations loaded in thread
workers); widgets never call the service. Actions ask the app to run work on the engine loop.
"""

from __future__ import annotations

from collections import Counter

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Sparkline

from stagetui.config.keymap import BINDINGS as BINDING_SPECS
from stagetui.domain.cost import BudgetState, BudgetStatus, format_money
from stagetui.domain.models import EnvironmentStatus
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.events import EnvironmentChanged
from stagetui.service.provisioning import UpRequest
from stagetui.ui.drift_model import drift_tree
from stagetui.ui.messages import (
    DetailLoaded,
    DriftHistoryLoaded,
    EnvironmentsLoaded,
    GarbageCollectionRequested,
    LaunchRequested,
    ServiceEvent,
    SnapshotRefreshRequested,
    TeardownRequested,
)
from stagetui.ui.provisioning_model import ProvisioningTracker
from stagetui.ui.screens.approve import ApprovalRequest, ApproveScreen
from stagetui.ui.screens.benchmarks import BenchmarksScreen
from stagetui.ui.screens.compare import CompareScreen
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.detail import DetailScreen
from stagetui.ui.screens.experiments import ExperimentsScreen
from stagetui.ui.screens.launch import LaunchScreen
from stagetui.ui.screens.nodes import NodesScreen
from stagetui.ui.screens.notes import NotesScreen
from stagetui.ui.view_models import COLUMN_KEYS, view_of
from stagetui.ui.widgets.drift_panel import DriftPanel
from stagetui.ui.widgets.environments_table import EnvironmentsTable
from stagetui.ui.widgets.freshness_panel import FreshnessPanel
from stagetui.ui.widgets.provisioning_panel import ProvisioningPanel

PANEL_FRAME = 0.15
"""Seconds between panel redraws while events stream in."""


def dashboard_bindings() -> list[Binding]:
    return [
        Binding(s.key, s.action, s.description, show=s.show, tooltip=s.tooltip, id=s.id)
        for s in BINDING_SPECS
        if s.scope == "dashboard"
    ]


class DashboardScreen(Screen[None]):
    BINDINGS = [
        *dashboard_bindings(),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter", tooltip="Show all"),
    ]

    def __init__(self, backend: StagetuiService) -> None:
        super().__init__()
        self.backend = backend
        self.tracker = ProvisioningTracker()
        self._drift_uid: str | None = None
        self._panels_dirty = True
        self._budget_states: dict[str, BudgetState] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: words that must all match (esc clears)", id="filter")
        yield EnvironmentsTable(self.backend.cost_model, id="environments")
        with Horizontal(id="panels"):
            with Vertical(id="left-panels"):
                with VerticalScroll(id="provisioning-box"):
                    yield ProvisioningPanel(self.tracker, id="provisioning")
                with VerticalScroll(id="freshness-box"):
                    yield FreshnessPanel(id="freshness")
            with Vertical(id="drift-box"):
                yield Sparkline([], id="drift-history")
                yield DriftPanel(id="drift")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#provisioning-box").border_title = "Provisioning"
        self.query_one("#freshness-box").border_title = "Data freshness (age / max age)"
        self.query_one("#drift-box").border_title = "Drift from production"
        self.query_one("#drift-history").display = False
        self.query_one("#environments", EnvironmentsTable).border_title = "Environments"
        self.query_one("#environments").focus()
        self.set_interval(1.0, self._tick)
        self.set_interval(PANEL_FRAME, self._flush_panels)
        interval = self.backend.config.ui.refresh_interval.total_seconds()
        self.set_interval(interval, self.action_reload)
        self.action_reload()
        self._redraw_panels()

    # --- data in ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def action_reload(self) -> None:
        """Reconcile with the runtimes in a thread; exclusive, so polls never pile up."""
        self.post_message(EnvironmentsLoaded(self.backend.environments(), self.backend.budgets()))

    def _alert_budgets(self, statuses: list[BudgetStatus]) -> None:
        """Notify when a budget crosses into warning or over, once per crossing (not on every reload)."""
        for status in statuses:
            previous = self._budget_states.get(status.period)
            self._budget_states[status.period] = status.state
            if status.state is BudgetState.OK or status.state == previous:
                continue
            currency = self.backend.config.cost.currency
            spent, limit = format_money(status.spent, currency), format_money(status.limit, currency)
            text = f"{spent} of {limit} this {status.period}"
            over = status.state is BudgetState.OVER
            self.notify(
                text,
                title=f"budget {status.state.value}",
                severity="error" if over else "warning",
                timeout=15,
            )

    def on_environments_loaded(self, message: EnvironmentsLoaded) -> None:
        self._alert_budgets(message.budgets)
        table = self.table
        in_flight = {uid for uid, run in self.tracker.runs.items() if run.finished_at is None}
        # Keep rows of runs this app has in flight even if a reconciliation raced ahead of them.
        kept = [v for uid, v in table.views.items() if uid in in_flight]
        table.sync([*message.views, *kept], self.backend.now())
        self._redraw_panels()
        self._flush_panels()  # a reconciliation is rare: show it at once
        # Drift may have been checked elsewhere meanwhile (`stagetui drift --all` from cron): read it again.
        self._drift_uid = None
        self._follow_selection()

    def on_service_event(self, message: ServiceEvent) -> None:
        event, now = message.event, self.backend.now()
        self.tracker.apply(event)
        if isinstance(event, EnvironmentChanged):
            env = event.environment
            if env.status is EnvironmentStatus.TORN_DOWN:
                self.table.forget(env.uid)
            else:
                self.table.upsert(view_of(env, now, self.table.views.get(env.uid)), now)
            if env.uid == self._drift_uid or self._drift_uid is None:
                self._drift_uid = None
                self._follow_selection()
        self._redraw_panels()

    def _tick(self) -> None:
        now = self.backend.now()
        self.table.tick(now)
        self._redraw_panels()

    def _redraw_panels(self) -> None:
        """Ask for a redraw. Panels redraw at most every PANEL_FRAME seconds however many events arrive:
        twenty environments provisioning send hundreds of events a second."""
        self._panels_dirty = True

    def _flush_panels(self) -> None:
        if not self._panels_dirty:
            return
        self._panels_dirty = False
        now = self.backend.now()
        self.query_one("#provisioning", ProvisioningPanel).redraw(now)
        self.query_one("#provisioning-box").set_class(not self.tracker.runs, "-idle")
        self.query_one("#freshness", FreshnessPanel).show(self.table.views.values(), now)
        flying = self.tracker.in_flight
        count = len(self.table.views)
        plural = "" if count == 1 else "s"
        self.sub_title = f"{count} environment{plural}" + (f" · {flying} provisioning" if flying else "")

    # --- drift of the selection ---------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#environments")
    def _highlighted(self) -> None:
        self._follow_selection()

    def _follow_selection(self) -> None:
        selected = self.table.selected
        if selected is None:
            self.query_one("#drift", DriftPanel).show(drift_tree("no environment selected", None))
            return
        if selected.environment.uid != self._drift_uid:
            self._drift_uid = selected.environment.uid
            self._load_drift(selected.environment.uid)

    @work(thread=True, exclusive=True, group="drift", exit_on_error=False)
    def _load_drift(self, uid: str) -> None:
        try:
            self.post_message(DetailLoaded(uid, self.backend.detail(uid)))
        except ServiceError as error:
            self.post_message(DetailLoaded(uid, None, str(error)))
        self.post_message(DriftHistoryLoaded(uid, self.backend.drift_history(uid)))

    def on_drift_history_loaded(self, message: DriftHistoryLoaded) -> None:
        if message.uid != self._drift_uid:
            return
        history = self.query_one("#drift-history", Sparkline)
        history.data = message.values
        # One point is not a history, and equal points would draw as a full (alarming) bar.
        history.display = len(message.values) > 1
        last = f"{message.values[-1]:g}" if message.values else "-"
        history.tooltip = f"unapproved drift, {len(message.values)} checks; latest {last}"
        self.query_one("#drift-box").border_subtitle = f"history: {len(message.values)} checks, now {last}"

    def action_approve(self) -> None:
        selected = self.table.selected
        path = self.query_one("#drift", DriftPanel).selected_path
        if selected is None or path is None:
            self.notify("select a difference in the drift tree first (tab moves there)", severity="warning")
            return
        env = selected.environment

        def chosen(request: ApprovalRequest | None) -> None:
            if request is not None:
                self._approve(env.uid, request)

        self.app.push_screen(ApproveScreen(env.id, path, self.backend.owner), chosen)

    @work(thread=True, group="approve", exit_on_error=False)
    def _approve(self, uid: str, request: ApprovalRequest) -> None:
        try:
            self.backend.approve_drift(
                uid,
                request.pattern,
                reason=request.reason,
                approver=request.approver,
                expires=request.expires,
            )
        except ServiceError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        # Recorded: say so even when the check that follows fails, or the approval would look refused.
        try:
            summary = self.backend.drift_check(uid).report.summary()
        except ServiceError as error:
            text = f"approved {request.pattern}; drift not checked again: {error}"
            self.app.call_from_thread(self.notify, text, severity="warning")
        else:
            self.app.call_from_thread(self.notify, f"approved {request.pattern}: {summary}")
        self._drift_uid = None
        self.app.call_from_thread(self.action_reload)

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.reference != self._drift_uid or message.detail is None:
            return
        drift = message.detail.latest_check("drift")
        env_id = message.detail.view.environment.id
        self.query_one("#drift", DriftPanel).show(drift_tree(env_id, drift.result if drift else None))

    # --- actions ------------------------------------------------------------------------------------
    @property
    def table(self) -> EnvironmentsTable:
        return self.query_one("#environments", EnvironmentsTable)

    def action_launch(self) -> None:
        def launched(request: UpRequest | None) -> None:
            if request is not None:
                self.post_message(LaunchRequested(request))

        self.app.push_screen(LaunchScreen(self.backend), launched)

    def action_teardown(self) -> None:
        selected = self.table.selected
        if selected is None:
            self.notify("select an environment first", severity="warning")
            return
        env = selected.environment

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.post_message(TeardownRequested(env.uid, env.id))

        question = f"Tear down {env.id}?\nIts processes, data and config are removed; history is kept."
        self.app.push_screen(ConfirmScreen(question, "Tear down"), confirmed)

    @on(DataTable.RowSelected, "#environments")
    def _row_selected(self) -> None:
        """Enter (or a click on the selected row) inside the table opens the detail screen."""
        self.action_detail()

    def action_detail(self) -> None:
        selected = self.table.selected
        if selected is not None:
            self.app.push_screen(
                DetailScreen(self.backend, selected.environment.uid, selected.environment.id)
            )

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value
        self.table.relayout(self.backend.now())
        self._follow_selection()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-visible")
        self.table.focus()

    def action_sort(self) -> None:
        keys = (None, *COLUMN_KEYS)
        self.table.sort_column = keys[(keys.index(self.table.sort_column) + 1) % len(keys)]
        self._resort()

    def action_sort_reverse(self) -> None:
        self.table.sort_reverse = not self.table.sort_reverse
        self._resort()

    @on(DataTable.HeaderSelected, "#environments")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if self.table.sort_column == key:
            self.table.sort_reverse = not self.table.sort_reverse
        self.table.sort_column = key
        self._resort()

    def _resort(self) -> None:
        self.table.relayout(self.backend.now())
        order = "newest first" if self.table.sort_column is None else self.table.sort_column
        self.notify(f"sorted by {order}{' (reversed)' if self.table.sort_reverse else ''}", timeout=2)

    def action_compare(self) -> None:
        self.app.push_screen(CompareScreen(self.backend))

    def action_benchmarks(self) -> None:
        self.app.push_screen(BenchmarksScreen(self.backend))

    def action_experiments(self) -> None:
        self.app.push_screen(ExperimentsScreen(self.backend))

    def action_notes(self) -> None:
        self.app.push_screen(NotesScreen(self.backend))

    def action_nodes(self) -> None:
        selected = self.table.selected
        runtimes = Counter(view.environment.runtime for view in self.table.views.values())
        chosen = selected.environment.id if selected is not None else None
        self.app.push_screen(NodesScreen(self.backend, chosen, runtimes))

    def action_refresh_snapshot(self) -> None:
        self.post_message(SnapshotRefreshRequested())

    def action_collect_garbage(self) -> None:
        def confirmed(answer: bool | None) -> None:
            if answer:
                self.post_message(GarbageCollectionRequested())

        question = "Remove expired, interrupted and leftover environments?"
        self.app.push_screen(ConfirmScreen(question, "Collect"), confirmed)
