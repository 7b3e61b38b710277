"""Experiments: start one, stop it, and read its result (effect, interval, p-value, verdict) as it comes."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from stagetui.domain.experiments import Experiment, ExperimentResult
from stagetui.domain.statistics import format_change, format_p
from stagetui.service.api import StagetuiService
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.cycle_screen import CycleScreen
from stagetui.ui.screens.experiment_form import ExperimentForm, ExperimentRequest
from stagetui.ui.tones import plain


@dataclass
class ExperimentsLoaded(Message, bubble=False):
    experiments: list[Experiment]


@dataclass
class ResultLoaded(Message, bubble=False):
    result: ExperimentResult


def describe(result: ExperimentResult) -> str:
    e, c = result.experiment, result.comparison
    lines = [
        f"{e.name} ({e.status.value})",
        f"hypothesis: {e.hypothesis}",
        f"change: {e.change or '-'}",
        f"metric: {e.metric} ({e.aggregation.value}), expected {format_change(e.expected_change)}",
        f"samples: {c.n_baseline} baseline · {c.n_experiment} in the experiment",
    ]
    if c.relative_change is not None:
        interval = ""
        if c.ci_low is not None and c.ci_high is not None:
            interval = f", {c.confidence:.0%} CI {format_change(c.ci_low)} to {format_change(c.ci_high)}"
        p_value = f", {format_p(c.p_value)}" if c.p_value is not None else ""
        lines.append(f"effect: {format_change(c.relative_change)}{interval}{p_value}")
    lines.append("")
    lines.append(result.summary)
    return "\n".join(lines)


class ExperimentsScreen(CycleScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="experiments-back", tooltip="Back to the dashboard"),
        Binding("a", "start", "Start", id="experiments-start", tooltip="Start an experiment"),
        Binding("s", "stop", "Stop", id="experiments-stop", tooltip="Finish the selected experiment"),
        Binding("r", "reload", "Reload", id="experiments-reload", tooltip="Read again"),
    ]

    def __init__(self, backend: StagetuiService) -> None:
        super().__init__()
        self.backend = backend
        self.sub_title = "experiments"

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="experiments-table", cursor_type="row", zebra_stripes=True)
        yield Static("no experiment selected", id="experiment-result", markup=False)  # quotes the hypothesis
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#experiments-table", DataTable)
        for column in ("id", "status", "started", "metric", "expect", "hypothesis"):
            table.add_column(column.upper(), key=column)
        table.border_title = "Experiments"
        self.query_one("#experiment-result").border_title = "Result so far"
        self.action_reload()

    @work(thread=True, exclusive=True, group="experiments", exit_on_error=False)
    def action_reload(self) -> None:
        self.post_message(ExperimentsLoaded(self.backend.experiments()))

    def on_experiments_loaded(self, message: ExperimentsLoaded) -> None:
        table = self.query_one("#experiments-table", DataTable)
        table.clear()
        for e in message.experiments:
            started = f"{e.started_at:%m-%d %H:%M}" if e.started_at else "-"
            row = (e.id, e.status.value, started, e.metric, format_change(e.expected_change), e.hypothesis)
            table.add_row(*map(plain, row), key=e.id)
        self._selected()

    @property
    def selected_id(self) -> str | None:
        table = self.query_one("#experiments-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted, "#experiments-table")
    def _selected(self) -> None:
        if (identifier := self.selected_id) is not None:
            self._load_result(identifier)

    @work(thread=True, exclusive=True, group="result", exit_on_error=False)
    def _load_result(self, identifier: str) -> None:
        self.post_message(ResultLoaded(self.backend.experiment_result(identifier)))

    def on_result_loaded(self, message: ResultLoaded) -> None:
        if message.result.experiment.id == self.selected_id:
            self.query_one("#experiment-result", Static).update(describe(message.result))

    def action_start(self) -> None:
        def chosen(request: ExperimentRequest | None) -> None:
            if request is None:
                return
            self.apply_change(
                lambda: self.backend.start_experiment(
                    request.name,
                    hypothesis=request.hypothesis,
                    change=request.change,
                    metric=request.metric,
                    scope=request.scope,
                    expected_change=request.expected_change,
                ),
                f"experiment {request.name} started: samples in its scope are tagged from now on",
            )

        self.app.push_screen(ExperimentForm(), chosen)

    def action_stop(self) -> None:
        identifier = self.selected_id
        if identifier is None:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.apply_change(
                    lambda: self.backend.stop_experiment(identifier), f"experiment {identifier} finished"
                )

        self.app.push_screen(ConfirmScreen(f"Finish experiment {identifier}?", "Finish"), confirmed)
