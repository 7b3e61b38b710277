"""Each environment's data age against its max-age target, as a bar coloured by status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from stagetui.service.queries import EnvironmentView
from stagetui.ui.view_models import freshness_rows

MAX_BAR_WIDTH = 14


class FreshnessPanel(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._views: list[EnvironmentView] = []
        self._now: datetime | None = None

    def on_resize(self) -> None:
        # Lines are fitted to the width: draw again once the final width (scrollbar included) is known.
        if self._now is not None:
            self.show(self._views, self._now)

    def show(self, views: Iterable[EnvironmentView], now: datetime) -> None:
        self._views, self._now = list(views), now
        rows = freshness_rows(self._views, now)
        if not rows:
            self.update(Content.from_markup("[$text-muted]no environments"))
            return
        lines = []
        label_width = max(len(row.label) for row in rows)
        longest_id = max(len(r.environment_id) for r in rows)
        # Share the width: the bar shrinks on narrow panels before the ids do.
        width = self.size.width or 80
        bar_width = max(4, min(MAX_BAR_WIDTH, width - label_width - longest_id - 2, width // 4))
        id_width = max(8, min(longest_id, width - bar_width - label_width - 2))
        for row in rows:
            filled = bar_width if row.share is None else min(bar_width, round(row.share * bar_width))
            bar = ("░" * bar_width) if row.share is None else "█" * filled + "░" * (bar_width - filled)
            name = (
                row.environment_id
                if len(row.environment_id) <= id_width
                else row.environment_id[: id_width - 1] + "…"
            )
            lines.append(
                Content.from_markup(
                    f"$id [${row.tone.value}]$bar $label[/]",
                    id=f"{name:<{id_width}}",
                    bar=bar,
                    label=row.label,
                )
            )
        self.update(Content("\n").join(lines))
