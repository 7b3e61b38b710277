"""Strategies side by side, measured from this team's environments, with provisioning time and data age
over time (targets and baselines drawn as lines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header
from textual_plotext import PlotextPlot

from stagetui.domain.benchmarks import Benchmark
from stagetui.domain.cost import format_money
from stagetui.domain.durations import format_duration
from stagetui.domain.models import MetricSample
from stagetui.service.api import StagetuiService
from stagetui.service.compare import BEST_FOR_SHORT, StrategyComparison
from stagetui.ui.cycle_models import ReferenceLine, Series, reference_lines, series_by_strategy

SERIES_VARIABLES = ("primary", "accent", "success")


@dataclass
class CompareLoaded(Message, bubble=False):
    rows: list[StrategyComparison]
    samples: list[MetricSample]
    benchmarks: list[Benchmark]
    start: datetime


def _rows(rows: list[StrategyComparison], currency: str) -> list[tuple[str, list[str]]]:
    def seconds(value: float | None) -> str:
        return "-" if value is None else format_duration(value)

    def money(value: float | None) -> str:
        return "-" if value is None else format_money(value, currency)

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    def escaped(row: StrategyComparison) -> str:
        rate = row.prediction.defects_per_100_envs if row.prediction else None
        return "-" if rate is None else f"{rate:.1f}"

    return [
        ("environments", [str(r.environments) for r in rows]),
        ("provisioning p50", [seconds(r.provision_p50) for r in rows]),
        ("provisioning p90", [seconds(r.provision_p90) for r in rows]),
        ("data age (median)", [seconds(r.data_age_median) for r in rows]),
        ("drift (median)", ["-" if r.drift_median is None else f"{r.drift_median:g}" for r in rows]),
        ("cost / env / day", [money(r.cost_per_day_median) for r in rows]),
        ("test pass rate", [share(r.pass_rate) for r in rows]),
        ("escaped defects / 100 envs", [escaped(r) for r in rows]),
        ("best for", [BEST_FOR_SHORT[r.strategy] for r in rows]),
    ]


class CompareScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="compare-back", tooltip="Back to the dashboard"),
        Binding("r", "reload", "Reload", id="compare-reload", tooltip="Measure again"),
    ]

    def __init__(self, backend: StagetuiService) -> None:
        super().__init__()
        self.backend = backend
        self.sub_title = "strategies compared"

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="compare-plots"):
            yield PlotextPlot(id="plot-provisioning")
            yield PlotextPlot(id="plot-freshness")
        yield Footer()

    def on_mount(self) -> None:
        window = format_duration(self.backend.config.cycle.baseline_window)
        self.query_one(
            "#compare-table"
        ).border_title = f"Strategies side by side · this team's data, last {window}"
        self.query_one("#plot-provisioning").border_title = "Provisioning time (s)"
        self.query_one("#plot-freshness").border_title = "Data age at provisioning (h)"
        self.action_reload()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def action_reload(self) -> None:
        now = self.backend.now()
        start = now - self.backend.config.cycle.baseline_window
        samples = self.backend.samples(start)
        benchmarks = [item.benchmark for item in self.backend.benchmarks()]
        self.post_message(CompareLoaded(self.backend.compare(), samples, benchmarks, start))

    def on_compare_loaded(self, message: CompareLoaded) -> None:
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        table.add_column("", key="label")
        for row in message.rows:
            table.add_column(row.strategy.value, key=row.strategy.value)
        for label, values in _rows(message.rows, self.backend.config.cost.currency):
            table.add_row(label, *values)
        provisioning = series_by_strategy(message.samples, "provision.total_seconds", message.start)
        freshness = series_by_strategy(message.samples, "data.age_seconds", message.start, scale=1 / 3600)
        self._draw(
            "#plot-provisioning", provisioning, reference_lines(message.benchmarks, "provision.total_seconds")
        )
        lines = [
            ReferenceLine(r.label, r.value / 3600)
            for r in reference_lines(message.benchmarks, "data.age_seconds")
        ]
        self._draw("#plot-freshness", freshness, lines)

    def _color(self, index: int) -> tuple[int, int, int]:
        return self._rgb(SERIES_VARIABLES[index % len(SERIES_VARIABLES)])

    def _rgb(self, variable: str) -> tuple[int, int, int]:
        """Plot colours come from the theme too, like every other colour."""
        color = Color.parse(self.app.theme_variables.get(variable, "#888888"))
        return (color.r, color.g, color.b)

    def _draw(self, selector: str, series: list[Series], lines: list[ReferenceLine]) -> None:
        plot = self.query_one(selector, PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.date_form("d/m H:M")
        for index, item in enumerate(series):
            dates = [plt.datetime_to_string(moment) for moment in item.xs]
            plt.plot(dates, list(item.ys), label=item.label, color=self._color(index), marker="braille")
        # A line far above every point would flatten the data into the floor: name it instead of drawing it.
        highest = max((max(item.ys) for item in series), default=0.0)
        drawn = [line for line in lines if highest and line.value <= 3 * highest]
        for line in drawn:
            plt.hline(line.value, color=self._rgb("warning"))
        notes = [f"{line.label} {line.value:g}" + ("" if line in drawn else " (above)") for line in lines]
        plt.title("no samples yet in the window" if not series else " · ".join(notes))
        plt.xlabel("when provisioned (UTC)")
        plot.refresh()

    def action_back(self) -> None:
        self.dismiss(None)
