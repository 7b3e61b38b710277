"""Every key binding, with the key it has now (after keymap overrides from the config)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from stagetui.config.keymap import BINDINGS


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help-close", tooltip="Back")]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(
                "Key bindings  (also: ctrl+p for the command palette; mouse works too)", id="help-title"
            )
            table: DataTable[str] = DataTable(id="help-table", cursor_type="row")
            table.add_columns("key", "action", "id", "what it does")
            for spec in BINDINGS:
                keys = self.keymap.get(spec.id, spec.key).split(",")
                shown = " ".join(self.app.get_key_display(Binding(key.strip(), "")) for key in keys)
                table.add_row(shown, spec.description, spec.id, spec.tooltip)
            table.add_row("↑ ↓", "Move", "-", "Select an environment")
            table.add_row("click header", "Sort", "-", "Sort by that column (click again to reverse)")
            yield table

    def action_close(self) -> None:
        self.dismiss(None)
