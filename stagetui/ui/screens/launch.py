"""The launch dialog: branch (validated as you type, with the id it will get), strategy, runtime, TTL."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Select, Static

from stagetui.domain.durations import InvalidDurationError, format_duration, parse_duration
from stagetui.domain.ids import InvalidBranchError, environment_id, validate_branch
from stagetui.domain.models import Strategy
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.provisioning import UpRequest

STRATEGY_HELP = {
    Strategy.FULL_CLONE: "full_clone — all data, masked; slowest",
    Strategy.SNAPSHOT: "snapshot — golden copy; minutes old",
    Strategy.CONTAINERIZED: "containerized — subset + template; fastest",
}


class BranchValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            validate_branch(value)
        except InvalidBranchError as error:
            return self.failure(str(error))
        return self.success()


class DurationValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            if parse_duration(value).total_seconds() <= 0:
                return self.failure("must be longer than 0s")
        except InvalidDurationError as error:
            return self.failure(str(error))
        return self.success()


class LaunchScreen(ModalScreen[UpRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="launch-cancel", tooltip="Close without launching")]

    def __init__(self, backend: StagetuiService, branch: str = "") -> None:
        super().__init__()
        self.backend = backend
        self.initial_branch = branch

    def compose(self) -> ComposeResult:
        defaults = self.backend.config.defaults
        with Vertical(id="launch-dialog"):
            yield Label("Launch an environment", id="launch-title")
            with Grid(id="launch-form"):
                yield Label("branch")
                yield Input(
                    self.initial_branch,
                    placeholder="e.g. feat/login",
                    id="branch",
                    validators=[BranchValidator()],
                    validate_on=["changed", "submitted"],
                    compact=True,
                )
                yield Label("")
                yield Static("", id="branch-preview", markup=False)  # quotes the branch
                yield Label("strategy")
                yield Select(
                    [(STRATEGY_HELP[s], s.value) for s in Strategy],
                    value=defaults.strategy.value,
                    allow_blank=False,
                    id="strategy",
                    compact=True,
                )
                yield Label("runtime")
                yield Select(
                    [(name, name) for name in self.backend.runtime_names],
                    value=defaults.runtime,
                    allow_blank=False,
                    id="runtime",
                    compact=True,
                )
                yield Label("ttl")
                yield Input(
                    format_duration(defaults.ttl),
                    placeholder="e.g. 8h",
                    id="ttl",
                    validators=[DurationValidator()],
                    validate_on=["changed", "submitted"],
                    compact=True,
                )
            yield Static("", id="launch-error", markup=False)  # quotes the ttl
            with Horizontal(id="launch-buttons"):
                yield Button("Launch", variant="primary", id="launch", disabled=True, compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#branch", Input).focus()
        self._refresh_state()

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._refresh_state()

    def _refresh_state(self) -> None:
        branch = self.query_one("#branch", Input)
        preview = self.query_one("#branch-preview", Static)
        branch_check = BranchValidator().validate(branch.value)
        if not branch.value:
            preview.update("")
        elif branch_check.is_valid:
            preview.update(f"→ environment id {environment_id(branch.value, self._strategy())}")
            preview.set_class(False, "-invalid")
        else:
            preview.update(f"✗ {branch_check.failure_descriptions[0]}")
            preview.set_class(True, "-invalid")
        ttl_problem = self._ttl_problem()
        # Said as it is typed, like the branch's: a refused launch always shows why.
        self.query_one("#launch-error", Static).update(f"✗ {ttl_problem}" if ttl_problem else "")
        valid = bool(branch.value) and branch_check.is_valid and ttl_problem is None
        self.query_one("#launch", Button).disabled = not valid

    def _ttl_problem(self) -> str | None:
        check = DurationValidator().validate(self.query_one("#ttl", Input).value)
        return None if check.is_valid else f"ttl: {check.failure_descriptions[0]}"

    def _strategy(self) -> Strategy:
        return Strategy(str(self.query_one("#strategy", Select).value))

    @on(Button.Pressed, "#launch")
    @on(Input.Submitted)
    def _launch(self) -> None:
        if self.query_one("#launch", Button).disabled:
            # A missing branch is the one problem not shown while typing: say it now, with the others.
            problems = [] if self.query_one("#branch", Input).value else ["a branch is needed"]
            if (ttl_problem := self._ttl_problem()) is not None:
                problems.append(ttl_problem)
            if problems:
                self.query_one("#launch-error", Static).update(f"✗ {'; '.join(problems)}")
            return
        try:
            request = self.backend.up_request(
                self.query_one("#branch", Input).value,
                strategy=self._strategy().value,
                runtime=str(self.query_one("#runtime", Select).value),
                ttl=self.query_one("#ttl", Input).value,
            )
        except ServiceError as error:
            self.query_one("#launch-error", Static).update(f"✗ {error}")
            return
        self.dismiss(request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
