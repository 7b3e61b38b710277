"""The environments table: rows keyed by environment uid, cells updated in place as events arrive.

Only cells whose text or tone changed are written (DataTable.update_cell is cheap, rebuilding is not);
rows are added and removed individually. A full re-layout happens only when the filter or sort changes
(once per reconciliation that added rows to a sorted table). With thousands of rows, per-row work is what
blocks keys: a reconciled row that only aged is skipped, and the clock's tick computes the rows in view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from stagetui.domain.cost import CostModel
from stagetui.service.queries import EnvironmentView
from stagetui.ui.tones import toned
from stagetui.ui.view_models import (
    COLUMNS,
    Cell,
    environment_cells,
    matches,
    same_row,
    sort_views,
    time_cells,
)


class EnvironmentsTable(DataTable[object]):
    def __init__(self, costs: CostModel, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.costs = costs
        self.views: dict[str, EnvironmentView] = {}
        self._shown: dict[str, dict[str, Cell]] = {}
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._clock: datetime | None = None
        """The last tick's time: rows scrolled into view are brought up to it."""

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column.label, key=column.key, width=column.width)
        self.watch(self.app, "theme", lambda: self.repaint(), init=False)

    # --- data in -------------------------------------------------------------------------------------
    def sync(self, views: Iterable[EnvironmentView], now: datetime) -> None:
        """Make the table show exactly `views` (a reconciliation): update, add and remove rows."""
        fresh = {v.environment.uid: v for v in views}
        for uid in [u for u in self.views if u not in fresh]:
            self.forget(uid)
        added = [self._upsert(view, now) for view in fresh.values()]
        if any(added) and self.sort_column is not None:
            self.relayout(now)  # once for the whole batch, not once per new row

    def upsert(self, view: EnvironmentView, now: datetime) -> None:
        if self._upsert(view, now) and self.sort_column is not None:
            self.relayout(now)

    def _upsert(self, view: EnvironmentView, now: datetime) -> bool:
        """Show `view`; True if its row was added (in sorted order only after a relayout)."""
        uid = view.environment.uid
        previous, self.views[uid] = self.views.get(uid), view
        if not matches(view, self.filter_text):
            self._remove_row(uid)
            return False
        if uid in self._shown and previous is not None and same_row(previous, view):
            return False  # nothing but the clock moved: that is the tick's job
        cells = environment_cells(view, now, self.costs)
        if uid not in self._shown:
            self.add_row(*(toned(self.app, c.text, c.tone) for c in cells.values()), key=uid)
            self._shown[uid] = cells
            return True
        self._write(uid, cells)
        return False

    def forget(self, uid: str) -> None:
        self.views.pop(uid, None)
        self._remove_row(uid)

    def tick(self, now: datetime) -> None:
        """Advance the clock: rewrite the time-dependent cells that changed, in the rows in view only.
        Rows scrolled into view are brought up to date as they arrive (watch_scroll_y), so a tick costs a
        screenful of rows, not one per environment: with 2,000 rows it held the UI loop for ~0.2 s."""
        self._clock = now
        for uid in self._rows_in_view():
            self._write(uid, time_cells(self.views[uid], now, self.costs))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._clock is not None and round(old_value) != round(new_value):
            self.tick(self._clock)

    # --- filter, sort, theme -------------------------------------------------------------------------
    def relayout(self, now: datetime) -> None:
        """Re-create the rows in filter and sort order, keeping the selection."""
        selected = self.selected_uid
        self.clear()
        self._shown.clear()
        visible = [v for v in self.views.values() if matches(v, self.filter_text)]
        for view in sort_views(visible, self.sort_column, self.sort_reverse, now, self.costs):
            cells = environment_cells(view, now, self.costs)
            self.add_row(*(toned(self.app, c.text, c.tone) for c in cells.values()), key=view.environment.uid)
            self._shown[view.environment.uid] = cells
        if selected in self._shown:
            self.move_cursor(row=self.get_row_index(selected))

    def repaint(self) -> None:
        """The theme changed: every cell's colour comes from it."""
        for uid, cells in self._shown.items():
            for key, cell in cells.items():
                self.update_cell(uid, key, toned(self.app, cell.text, cell.tone))

    # --- selection -----------------------------------------------------------------------------------
    @property
    def selected_uid(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    @property
    def selected(self) -> EnvironmentView | None:
        uid = self.selected_uid
        return self.views.get(uid) if uid else None

    # --- internals -----------------------------------------------------------------------------------
    def _write(self, uid: str, cells: dict[str, Cell]) -> None:
        shown = self._shown[uid]
        for key, cell in cells.items():
            if shown.get(key) != cell:
                self.update_cell(uid, key, toned(self.app, cell.text, cell.tone))
                shown[key] = cell

    def _rows_in_view(self) -> list[str]:
        """Uids of the rows on screen (every row is one line high: cells never wrap)."""
        top = int(self.scroll_y)
        rows = self.ordered_rows[top : top + self.size.height + 1]
        return [row.key.value for row in rows if row.key.value in self._shown]

    def _remove_row(self, uid: str) -> None:
        if uid in self._shown:
            self.remove_row(RowKey(uid))
            del self._shown[uid]
