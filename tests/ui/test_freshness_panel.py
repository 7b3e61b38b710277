"""The freshness panel with many environments: a line each, and only the lines in view are built."""

from __future__ import annotations

from datetime import timedelta

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from stagetui.domain.freshness import assess_freshness
from stagetui.service.queries import EnvironmentView
from stagetui.ui.themes import THEMES_DIR
from stagetui.ui.view_models import FreshnessRow
from stagetui.ui.widgets.freshness_panel import FreshnessPanel
from tests.ui.test_environments_table import NOW, views


class PanelApp(App[None]):
    CSS_PATH = THEMES_DIR / "stagetui.tcss"  # where the panel's height comes from

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield FreshnessPanel(id="freshness")


def aged_views(count: int) -> list[EnvironmentView]:
    made = []
    for index, view in enumerate(views(count)):
        env = view.environment
        env.data_as_of, env.max_data_age = NOW - timedelta(hours=index % 30), timedelta(hours=24)
        made.append(EnvironmentView(env, env.status, True, True, assess_freshness(None, None, NOW)))
    return made


async def test_every_environment_has_a_line_and_only_those_in_view_are_drawn() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 12)) as pilot:
        panel = app.query_one(FreshnessPanel)
        built: list[str] = []
        line = panel._line

        def counting(row: FreshnessRow, width: int) -> object:
            built.append(row.environment_id)
            return line(row, width)

        panel._line = counting  # type: ignore[assignment, method-assign]
        panel.show([], NOW)
        await pilot.pause()
        assert panel.size.height == 1
        panel.show(aged_views(500), NOW)
        await pilot.pause()
        assert panel.size.height == 500
        assert 0 < len(built) <= 2 * 12  # a screenful, not 500
        built.clear()
        app.query_one(VerticalScroll).scroll_end(animate=False)
        await pilot.pause()
        assert built and built[-1] == panel._rows[-1].environment_id
