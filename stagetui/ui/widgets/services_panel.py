"""An environment's services: state, health, CPU, memory, restarts and ports, one row each."""

from __future__ import annotations

from textual.widgets import DataTable

from stagetui.domain.metric_format import format_bytes
from stagetui.domain.service_status import ServiceStatus
from stagetui.ui.tones import plain, toned
from stagetui.ui.view_models import Tone

SERVICE_COLUMNS = ("service", "state", "health", "cpu", "memory", "restarts", "ports")
HEALTH_TONES = {"healthy": Tone.SUCCESS, "starting": Tone.WARNING, "unhealthy": Tone.ERROR}


def service_cells(status: ServiceStatus) -> tuple[str, ...]:
    """The row of one service ('-' for what the runtime could not tell)."""
    if status.memory_bytes is None:
        memory = "-"
    elif status.memory_limit_bytes:
        memory = f"{format_bytes(status.memory_bytes)} / {format_bytes(status.memory_limit_bytes)}"
    else:
        memory = format_bytes(status.memory_bytes)
    return (
        status.name,
        status.state,
        status.health or "-",
        "-" if status.cpu_percent is None else f"{status.cpu_percent:.1f}%",
        memory,
        str(status.restarts),
        ", ".join(status.ports) or "-",
    )


class ServicesPanel(DataTable[object]):
    """Selecting a row (enter) follows that service's log."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(*SERVICE_COLUMNS)

    def show(self, services: list[ServiceStatus]) -> None:
        self.clear()
        for status in services:
            cells = service_cells(status)
            state = plain(cells[1]) if status.state == "running" else toned(self.app, cells[1], Tone.ERROR)
            tone = HEALTH_TONES.get(status.health or "")
            health = toned(self.app, cells[2], tone) if tone else plain(cells[2])
            # Names, states and ports as the runtime reports them: Text, never parsed as markup.
            self.add_row(plain(cells[0]), state, health, *map(plain, cells[3:]), key=status.name)
