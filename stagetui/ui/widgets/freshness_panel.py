"""Each environment's data age against its max-age target, as a bar coloured by status.

Drawn line by line (Textual's line API): only the lines scrolled into view are built and rendered. As one
Static of markup, every once-a-second redraw parsed, wrapped and rendered a line per environment, which
with hundreds of environments held the UI loop for tenths of a second, keys included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from textual.content import Content
from textual.geometry import Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget

from stagetui.service.queries import EnvironmentView
from stagetui.ui.view_models import FreshnessRow, freshness_rows

MAX_BAR_WIDTH = 14
EMPTY = Content.from_markup("[$text-muted]no environments")


class FreshnessPanel(Widget):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rows: list[FreshnessRow] = []
        self._label_width = 0
        self._longest_id = 0

    def show(self, views: Iterable[EnvironmentView], now: datetime) -> None:
        rows = freshness_rows(list(views), now)
        resized = len(rows) != len(self._rows)
        self._rows = rows
        self._label_width = max((len(row.label) for row in rows), default=0)
        self._longest_id = max((len(row.environment_id) for row in rows), default=0)
        self.refresh(layout=resized)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._rows))  # a line each (they never wrap), or the placeholder

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self._rows:
            content = EMPTY if y == 0 else Content("")
        elif y < len(self._rows):
            content = self._line(self._rows[y], width)
        else:
            content = Content("")
        strips = Visual.to_strips(self, content, width, 1, self.visual_style, pad=True)
        return strips[0] if strips else Strip.blank(width, self.visual_style.rich_style)

    def _line(self, row: FreshnessRow, width: int) -> Content:
        # Share the width: the bar shrinks on narrow panels before the ids do.
        width = width or 80
        label_width, longest_id = self._label_width, self._longest_id
        bar_width = max(4, min(MAX_BAR_WIDTH, width - label_width - longest_id - 2, width // 4))
        id_width = max(8, min(longest_id, width - bar_width - label_width - 2))
        filled = bar_width if row.share is None else min(bar_width, round(row.share * bar_width))
        bar = ("░" * bar_width) if row.share is None else "█" * filled + "░" * (bar_width - filled)
        name = (
            row.environment_id
            if len(row.environment_id) <= id_width
            else row.environment_id[: id_width - 1] + "…"
        )
        return Content.from_markup(
            f"$id [${row.tone.value}]$bar $label[/]", id=f"{name:<{id_width}}", bar=bar, label=row.label
        )
