"""Approving a difference from the drift tree: a reason, who approves, an optional last valid day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class ApprovalRequest:
    pattern: str
    reason: str
    approver: str
    expires: date | None


class ApproveScreen(ModalScreen[ApprovalRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="approve-cancel", tooltip="Close without approving")]

    def __init__(self, environment_id: str, path: str, approver: str) -> None:
        super().__init__()
        self.environment_id = environment_id
        self.path = path
        self.approver = approver

    def compose(self) -> ComposeResult:
        with Vertical(id="approve-dialog", classes="dialog"):
            yield Label(f"Approve a difference of {self.environment_id}", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("key")
                yield Input(self.path, id="approve-pattern", compact=True)
                yield Label("reason")
                yield Input(
                    placeholder="why this difference is acceptable", id="approve-reason", compact=True
                )
                yield Label("by")
                yield Input(self.approver, id="approve-by", compact=True)
                yield Label("until")
                yield Input(placeholder="YYYY-MM-DD (empty: no end)", id="approve-expires", compact=True)
            yield Static("", id="approve-error", classes="form-error", markup=False)  # quotes input
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve", variant="primary", id="approve-ok", compact=True)
                yield Button("Cancel", id="approve-cancel-button", compact=True)

    def on_mount(self) -> None:
        self.query_one("#approve-reason", Input).focus()

    @on(Button.Pressed, "#approve-ok")
    @on(Input.Submitted)
    def _approve(self) -> None:
        error = self.query_one("#approve-error", Static)
        pattern = self.query_one("#approve-pattern", Input).value.strip()
        reason = self.query_one("#approve-reason", Input).value.strip()
        approver = self.query_one("#approve-by", Input).value.strip()
        expires_text = self.query_one("#approve-expires", Input).value.strip()
        if not pattern or not reason or not approver:
            error.update("✗ a key, a reason and who approves are all needed")
            return
        try:
            expires = date.fromisoformat(expires_text) if expires_text else None
        except ValueError:
            error.update(f"✗ {expires_text!r} is not a date like 2026-12-31")
            return
        self.dismiss(ApprovalRequest(pattern, reason, approver, expires))

    @on(Button.Pressed, "#approve-cancel-button")
    def action_cancel(self) -> None:
        self.dismiss(None)
