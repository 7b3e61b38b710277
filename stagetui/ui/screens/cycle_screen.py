"""What the improvement-cycle screens share: going back, and applying a change in a thread then reloading."""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.screen import Screen
from textual.widgets import Select

from stagetui.config.model import METRICS
from stagetui.domain.models import Strategy
from stagetui.service.errors import ServiceError

ANY = "any"


def strategy_select(identifier: str) -> Select[str]:
    """A scope choice: any strategy, or one."""
    options = [(ANY, ANY)] + [(s.value, s.value) for s in Strategy]
    return Select(options, value=ANY, allow_blank=False, id=identifier, compact=True)


def metric_select(identifier: str) -> Select[str]:
    return Select([(m, m) for m in METRICS], value=METRICS[0], allow_blank=False, id=identifier, compact=True)


class CycleScreen(Screen[None]):
    """Subclasses define `action_reload` (a worker reading their data)."""

    @work(thread=True, group="changes", exit_on_error=False)
    def apply_change(self, change: Callable[[], object], done: str) -> None:
        """Run a change of the store off the UI loop; say how it went; read the data again."""
        try:
            change()
        except ServiceError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        self.app.call_from_thread(self.notify, done)
        self.app.call_from_thread(self.call_later, self.run_action, "reload")

    def action_back(self) -> None:
        self.dismiss(None)
