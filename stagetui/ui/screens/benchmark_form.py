"""The dialog defining a benchmark: the domain validates it, errors show inline, nothing is stored until
it is valid."""

from __future__ import annotations

import math

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from stagetui.domain.benchmarks import Aggregation, Benchmark, Direction, Scope
from stagetui.domain.models import Strategy
from stagetui.ui.screens.cycle_screen import ANY, metric_select, strategy_select


class BenchmarkForm(ModalScreen[Benchmark | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="benchmark-form-cancel", tooltip="Close without adding")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="benchmark-dialog", classes="dialog"):
            yield Label("Define a benchmark", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("name")
                yield Input(placeholder="e.g. p90-under-3-minutes", id="bench-name", compact=True)
                yield Label("metric")
                yield metric_select("bench-metric")
                yield Label("step")
                yield Input(placeholder="only for provision.step_seconds", id="bench-step", compact=True)
                yield Label("aggregate")
                yield Select(
                    [(a.value, a.value) for a in Aggregation],
                    value="p90",
                    allow_blank=False,
                    id="bench-aggregation",
                    compact=True,
                )
                yield Label("limit")
                yield Input(placeholder="only for share_under, e.g. 300", id="bench-limit", compact=True)
                yield Label("target")
                yield Input(placeholder="e.g. 180", id="bench-target", compact=True)
                yield Label("better")
                yield Select(
                    [("lower", "lower"), ("higher", "higher")],
                    value="lower",
                    allow_blank=False,
                    id="bench-direction",
                    compact=True,
                )
                yield Label("strategy")
                yield strategy_select("bench-strategy")
                yield Label("about")
                yield Input(placeholder="what it means, in words", id="bench-description", compact=True)
            yield Static("", id="bench-error", classes="form-error", markup=False)  # quotes input
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", variant="primary", id="bench-add", compact=True)
                yield Button("Cancel", id="bench-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#bench-name", Input).focus()

    def _value(self, selector: str) -> str:
        widget = self.query_one(selector)
        return str(widget.value).strip()  # type: ignore[attr-defined]

    def _number(self, selector: str, name: str, required: bool) -> float | None:
        text = self._value(selector)
        if not text:
            if required:
                raise ValueError(f"{name} is required")
            return None
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):  # float() takes "nan" and "inf": no limit or target is either
            raise ValueError(f"{name}: {text!r} is not a number")
        return number

    def build(self) -> Benchmark:
        strategy = self._value("#bench-strategy")
        return Benchmark(
            name=self._value("#bench-name"),
            metric=self._value("#bench-metric"),
            aggregation=Aggregation(self._value("#bench-aggregation")),
            target=self._number("#bench-target", "target", required=True) or 0.0,
            direction=Direction(self._value("#bench-direction")),
            scope=Scope(Strategy(strategy) if strategy != ANY else None),
            step=self._value("#bench-step") or None,
            limit=self._number("#bench-limit", "limit", required=False),
            description=self._value("#bench-description"),
        )

    @on(Button.Pressed, "#bench-add")
    @on(Input.Submitted)
    def _add(self) -> None:
        try:
            benchmark = self.build()
        except ValueError as error:
            self.query_one("#bench-error", Static).update(f"✗ {error}")
            return
        self.dismiss(benchmark)

    @on(Button.Pressed, "#bench-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
