"""Each environment's data age against its max-age target, as a bar coloured by status."""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content
from textual.widgets import Static

from stagetui.service.queries import EnvironmentView
from stagetui.ui.view_models import freshness_rows

BAR_WIDTH = 14


class FreshnessPanel(Static):
    def show(self, views: Iterable[EnvironmentView]) -> None:
        rows = freshness_rows(list(views))
        if not rows:
            self.update(Content.from_markup("[$text-muted]no environments"))
            return
        lines = []
        label_width = max(len(row.label) for row in rows)
        # The id takes what the bar and the label leave of the panel's width.
        id_width = max(
            8, min(max(len(r.environment_id) for r in rows), self.size.width - BAR_WIDTH - label_width - 2)
        )
        for row in rows:
            filled = BAR_WIDTH if row.share is None else min(BAR_WIDTH, round(row.share * BAR_WIDTH))
            bar = ("░" * BAR_WIDTH) if row.share is None else "█" * filled + "░" * (BAR_WIDTH - filled)
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
