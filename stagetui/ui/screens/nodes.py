"""The nodes of each cluster runtime (the swarm): availability, capacity, and which environments run where,
with the dashboard's selected environment marked. Asked in a thread (the Docker API blocks), again on the
UI's refresh interval, on `r`, and when an environment of a cluster changes."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.events import EnvironmentChanged
from stagetui.ui.messages import NodesLoaded, ServiceEvent
from stagetui.ui.nodes_model import NODE_COLUMNS, ClusterSection, NodeRow, NodesView, nodes_view
from stagetui.ui.tones import tone_style, toned
from stagetui.ui.view_models import Tone


class NodesScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="nodes-back", tooltip="Back to the dashboard"),
        Binding("r", "reload", "Reload", id="nodes-reload", tooltip="Ask the clusters again now"),
    ]

    def __init__(
        self,
        backend: StagetuiService,
        selected: str | None = None,
        environments_on: Mapping[str, int] | None = None,
    ) -> None:
        """`selected`: the environment selected on the dashboard; `environments_on`: how many environments
        the dashboard shows on each runtime (a silent cluster with environments on it is a warning)."""
        super().__init__()
        self.backend = backend
        self.selected = selected
        self.environments_on = dict(environments_on or {})
        self.sub_title = "cluster nodes"
        self.runtimes: set[str] = set()
        self._shape: tuple[tuple[str, bool], ...] | None = None
        """(runtime, listed) of each section on screen: the widgets are rebuilt only when it changes."""
        self._drawn: dict[str, tuple[NodeRow, ...]] = {}
        """The rows each table shows: a poll that changes nothing redraws nothing."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("asking the cluster runtimes for their nodes …", id="nodes-summary")
        yield VerticalScroll(id="nodes-clusters")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#nodes-summary").border_title = "Capacity"
        self.set_interval(self.backend.config.ui.refresh_interval.total_seconds(), self.action_reload)
        self.action_reload()

    # --- data in ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="nodes", exit_on_error=False)
    def action_reload(self) -> None:
        """Ask every cluster runtime for its nodes: blocking Docker API calls, so in a thread; exclusive,
        so polls never pile up (an answer overtaken by a newer poll is dropped)."""
        worker = get_current_worker()
        try:
            message = NodesLoaded(self.backend.cluster_nodes())
        except ServiceError as error:
            message = NodesLoaded([], str(error))
        if not worker.is_cancelled:
            self.post_message(message)

    def on_service_event(self, message: ServiceEvent) -> None:
        # An environment of a cluster came, went or changed: its tasks moved. Nothing else changes this.
        event = message.event
        if isinstance(event, EnvironmentChanged) and event.environment.runtime in self.runtimes:
            self.action_reload()

    async def on_nodes_loaded(self, message: NodesLoaded) -> None:
        view = nodes_view(
            message.clusters,
            self.backend.now(),
            selected=self.selected,
            environments_on=self.environments_on,
            error=message.error,
        )
        if message.error:  # keep showing the last answer of each cluster, under the error
            self._summary(view)
            return
        self.runtimes = {section.runtime for section in view.sections}
        self.sub_title = f"cluster nodes · read {view.read_at}"
        self._summary(view)
        box = self.query_one("#nodes-clusters", VerticalScroll)
        shape = tuple((section.runtime, section.problem is None) for section in view.sections)
        if shape != self._shape:
            self._shape = shape
            self._drawn.clear()
            await box.remove_children()
            await box.mount_all([self._section_widget(section) for section in view.sections])
        if len(box.children) != len(view.sections):
            return  # the screen closed while this answer was being drawn (back, or the app quits)
        for section, widget in zip(view.sections, box.children, strict=True):
            widget.border_title = section.title
            if isinstance(widget, DataTable):
                self._fill(widget, section)
            elif isinstance(widget, Static):
                widget.update(self._problem(section))
        tables = box.query(DataTable)
        if tables and not isinstance(self.focused, DataTable):
            tables.first().focus()  # arrows scroll the nodes at once, left and right too

    # --- drawing ------------------------------------------------------------------------------------
    def _summary(self, view: NodesView) -> None:
        text = Text(no_wrap=False)
        text.append(view.summary.text, tone_style(self.app, view.summary.tone))
        if view.selection is not None:
            text.append("\n")
            text.append(view.selection.text, tone_style(self.app, view.selection.tone))
        self.query_one("#nodes-summary", Static).update(text)

    @staticmethod
    def _section_widget(section: ClusterSection) -> Widget:
        if section.problem is not None:
            warning = section.problem.tone is Tone.WARNING
            return Static("", classes="nodes-problem -warning" if warning else "nodes-problem")
        # No cursor: nothing is done to a node from here, and a cursor row would hide the selection's marks.
        table: DataTable[Text] = DataTable(cursor_type="none", zebra_stripes=True, classes="nodes-table")
        for column in NODE_COLUMNS:
            # The mark column is never 0 wide (no node marked): Textual 8.2's auto-height rows fail on a cell
            # that draws no line at all.
            table.add_column(column.label, key=column.key, width=column.width)
        return table

    def _problem(self, section: ClusterSection) -> Text:
        assert section.problem is not None
        text = Text(section.problem.text, tone_style(self.app, section.problem.tone))
        if section.hint:
            text.append("\n")
            text.append(section.hint, tone_style(self.app, Tone.MUTED))
        return text

    def _fill(self, table: DataTable[Text], section: ClusterSection) -> None:
        """Rewrite the rows when they changed, keeping where the table was scrolled to."""
        if self._drawn.get(section.runtime) == section.rows:
            return
        self._drawn[section.runtime] = section.rows
        x, y = table.scroll_x, table.scroll_y
        table.clear()  # scrolls home
        for row in section.rows:
            cells = (row.cells[column.key] for column in NODE_COLUMNS)
            # height None: as tall as its cells' lines (one per environment placed on the node)
            table.add_row(
                *(toned(self.app, cell.text, cell.tone) for cell in cells), key=row.key, height=None
            )
        if x or y:  # once the new rows are measured, or the scroll would be clamped to nothing
            table.call_after_refresh(table.scroll_to, x, y, animate=False)

    def action_back(self) -> None:
        self.dismiss(None)
