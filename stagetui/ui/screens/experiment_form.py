"""The dialog starting an experiment: a name, the hypothesis, the change, the metric and the expected
effect. The service validates; errors show inline."""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from stagetui.domain.benchmarks import Scope
from stagetui.domain.models import Strategy
from stagetui.ui.screens.cycle_screen import ANY, metric_select, strategy_select


@dataclass(frozen=True)
class ExperimentRequest:
    name: str
    hypothesis: str
    change: str
    metric: str
    scope: Scope
    expected_change: float


def parse_expected(text: str) -> float:
    """ "-50%" -> -0.5; "+20%" -> 0.2; "-0.5" -> -0.5. Raises ValueError in words."""
    cleaned = text.strip().replace("\u2212", "-")
    try:
        value = float(cleaned.removesuffix("%")) / (100 if cleaned.endswith("%") else 1)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # "nan", "inf", "1e999": refused here, before the form closes on them
        raise ValueError(f"expected change: {text!r} is not like -50% or +20%")
    return value


class ExperimentForm(ModalScreen[ExperimentRequest | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="experiment-form-cancel", tooltip="Close without starting")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="experiment-dialog", classes="dialog"):
            yield Label("Start an experiment", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("name")
                yield Input(placeholder="e.g. snapshots-for-features", id="exp-name", compact=True)
                yield Label("hypothesis")
                yield Input(
                    placeholder="snapshots instead of full restore cut provisioning time by 50%",
                    id="exp-hypothesis",
                    compact=True,
                )
                yield Label("change")
                yield Input(placeholder="what is different while it runs", id="exp-change", compact=True)
                yield Label("metric")
                yield metric_select("exp-metric")
                yield Label("strategy")
                yield strategy_select("exp-strategy")
                yield Label("expect")
                yield Input(placeholder="e.g. -50%", id="exp-expect", compact=True)
            yield Static("", id="exp-error", classes="form-error", markup=False)  # quotes input
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", variant="primary", id="exp-start", compact=True)
                yield Button("Cancel", id="exp-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#exp-name", Input).focus()

    def _text(self, selector: str) -> str:
        return str(self.query_one(selector).value).strip()  # type: ignore[attr-defined]

    @on(Button.Pressed, "#exp-start")
    @on(Input.Submitted)
    def _start(self) -> None:
        error = self.query_one("#exp-error", Static)
        if not self._text("#exp-name") or not self._text("#exp-hypothesis"):
            error.update("✗ a name and a hypothesis are required")
            return
        try:
            expected = parse_expected(self._text("#exp-expect"))
        except ValueError as problem:
            error.update(f"✗ {problem}")
            return
        strategy = self._text("#exp-strategy")
        self.dismiss(
            ExperimentRequest(
                self._text("#exp-name"),
                self._text("#exp-hypothesis"),
                self._text("#exp-change"),
                self._text("#exp-metric"),
                Scope(Strategy(strategy) if strategy != ANY else None),
                expected,
            )
        )

    @on(Button.Pressed, "#exp-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
