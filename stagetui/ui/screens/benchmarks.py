"""Benchmarks: current value against baseline and target; add or remove (store-defined ones), and record a
baseline after seeing its assessment."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from stagetui.domain.baselines import BaselineAssessment
from stagetui.domain.benchmarks import Benchmark, BenchmarkStatus
from stagetui.domain.durations import format_duration
from stagetui.service.api import StagetuiService
from stagetui.ui.cycle_models import benchmark_cells
from stagetui.ui.screens.benchmark_form import BenchmarkForm
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.cycle_screen import CycleScreen
from stagetui.ui.tones import toned

COLUMNS = ("name", "current", "baseline", "target", "status", "samples", "source", "description")


@dataclass
class BenchmarksLoaded(Message, bubble=False):
    statuses: list[BenchmarkStatus]
    sources: dict[str, str]


@dataclass
class BaselineAssessed(Message, bubble=False):
    name: str
    assessment: BaselineAssessment


class BenchmarksScreen(CycleScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="benchmarks-back", tooltip="Back to the dashboard"),
        Binding("a", "add", "Add", id="benchmarks-add", tooltip="Define a new benchmark"),
        Binding(
            "ctrl+d", "remove", "Remove", id="benchmarks-remove", tooltip="Remove the selected benchmark"
        ),
        Binding(
            "B",
            "record_baseline",
            "Baseline",
            id="benchmarks-baseline",
            tooltip="Record the assessed baseline of the selected benchmark",
        ),
        Binding("r", "reload", "Reload", id="benchmarks-reload", tooltip="Evaluate again"),
    ]

    def __init__(self, backend: StagetuiService) -> None:
        super().__init__()
        self.backend = backend
        self.sub_title = "benchmarks"
        self.assessments: dict[str, BaselineAssessment] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="benchmarks-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="baseline-panel", markup=False)  # names the benchmark
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#benchmarks-table", DataTable)
        for column in COLUMNS:
            table.add_column(column.upper(), key=column)
        window = self.backend.config.cycle.current_window
        table.border_title = f"Benchmarks · current value over the last {format_duration(window)}"
        self.query_one("#baseline-panel").border_title = "Baseline assessment of the selection"
        self.action_reload()

    @work(thread=True, exclusive=True, group="benchmarks", exit_on_error=False)
    def action_reload(self) -> None:
        sources = {item.benchmark.name: item.source for item in self.backend.benchmarks()}
        self.post_message(BenchmarksLoaded(self.backend.benchmark_statuses(), sources))

    def on_benchmarks_loaded(self, message: BenchmarksLoaded) -> None:
        table = self.query_one("#benchmarks-table", DataTable)
        selected = self.selected_name
        table.clear()
        self.sources = message.sources
        for status in message.statuses:
            cells = benchmark_cells(status, message.sources.get(status.benchmark.name, ""))
            table.add_row(
                *(toned(self.app, cells[c].text, cells[c].tone) for c in COLUMNS), key=status.benchmark.name
            )
        if selected and selected in message.sources:
            table.move_cursor(row=table.get_row_index(selected))
        self._assess()

    @property
    def selected_name(self) -> str | None:
        table = self.query_one("#benchmarks-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted, "#benchmarks-table")
    def _assess(self) -> None:
        name = self.selected_name
        if name:
            self._load_assessment(name)

    @work(thread=True, exclusive=True, group="assess", exit_on_error=False)
    def _load_assessment(self, name: str) -> None:
        self.post_message(BaselineAssessed(name, self.backend.assess_baseline(name)))

    def on_baseline_assessed(self, message: BaselineAssessed) -> None:
        self.assessments[message.name] = message.assessment
        if message.name != self.selected_name:
            return
        a = message.assessment
        lines = [f"{message.name}: {a.n} samples from {a.window_start:%Y-%m-%d} to {a.window_end:%Y-%m-%d}"]
        if a.summary:
            s = a.summary
            lines.append(f"value {a.value:.4g} · median {s.median:.4g} · IQR {s.iqr:.4g} · p90 {s.p90:.4g}")
        lines += [f"⚠ {warning}" for warning in a.warnings] or ["✓ enough samples, peak hours covered"]
        lines.append("B records this value as the baseline")
        self.query_one("#baseline-panel", Static).update("\n".join(lines))

    def action_add(self) -> None:
        def added(benchmark: Benchmark | None) -> None:
            if benchmark is not None:
                self.apply_change(
                    lambda: self.backend.add_benchmark(benchmark), f"benchmark {benchmark.name} added"
                )

        self.app.push_screen(BenchmarkForm(), added)

    def action_remove(self) -> None:
        name = self.selected_name
        if name is None:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.apply_change(lambda: self.backend.remove_benchmark(name), f"benchmark {name} removed")

        self.app.push_screen(ConfirmScreen(f"Remove benchmark {name}?", "Remove"), confirmed)

    def action_record_baseline(self) -> None:
        name = self.selected_name
        if name is not None:
            self.apply_change(
                lambda: self.backend.assess_baseline(name, save=True), f"baseline of {name} recorded"
            )
