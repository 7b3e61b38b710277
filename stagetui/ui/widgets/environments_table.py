"""The environments table: rows keyed by environment uid, cells updated in place as events arrive.

Only cells whose text or tone changed are written (DataTable.update_cell is cheap, rebuilding is not);
rows are added and removed individually. A full re-layout happens only when the filter or sort changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from stagetui.domain.cost import CostModel
from stagetui.service.queries import EnvironmentView
from stagetui.ui.tones import toned
from stagetui.ui.view_models import COLUMNS, Cell, environment_cells, matches, sort_views

TIME_COLUMNS = tuple(c.key for c in COLUMNS if c.time_dependent)


class EnvironmentsTable(DataTable[object]):
    def __init__(self, costs: CostModel, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.costs = costs
        self.views: dict[str, EnvironmentView] = {}
        self._shown: dict[str, dict[str, Cell]] = {}
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False

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
        for view in fresh.values():
            self.upsert(view, now)

    def upsert(self, view: EnvironmentView, now: datetime) -> None:
        uid = view.environment.uid
        self.views[uid] = view
        if not matches(view, self.filter_text):
            self._remove_row(uid)
            return
        cells = environment_cells(view, now, self.costs)
        if uid not in self._shown:
            self.add_row(*(toned(self.app, c.text, c.tone) for c in cells.values()), key=uid)
            self._shown[uid] = cells
            if self.sort_column is not None:
                self.relayout(now)
            return
        self._write(uid, cells)

    def forget(self, uid: str) -> None:
        self.views.pop(uid, None)
        self._remove_row(uid)

    def tick(self, now: datetime) -> None:
        """Advance the clock: rewrite the time-dependent cells that changed."""
        for uid in list(self._shown):
            view = self.views[uid]
            cells = environment_cells(view, now, self.costs)
            self._write(uid, {key: cells[key] for key in TIME_COLUMNS})

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

    def _remove_row(self, uid: str) -> None:
        if uid in self._shown:
            self.remove_row(RowKey(uid))
            del self._shown[uid]
