"""The environments table with many rows: the clock updates what is in view, and what scrolls into view."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from stagetui.domain.cost import CostModel
from stagetui.domain.freshness import assess_freshness
from stagetui.domain.models import Environment, EnvironmentStatus, Strategy
from stagetui.service.queries import EnvironmentView
from stagetui.ui.view_models import format_age
from stagetui.ui.widgets.environments_table import EnvironmentsTable

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
ROWS = 300


def views(count: int = ROWS) -> list[EnvironmentView]:
    made = []
    for index in range(count):
        created = NOW - timedelta(seconds=30 + index)  # all in their first minute: ages tick each second
        env = Environment(
            uid=f"u{index:04d}", id=f"env-{index:04d}", branch=f"b/{index}", strategy=Strategy.CONTAINERIZED,
            runtime="local", owner="o", created_at=created, expires_at=created + timedelta(hours=8),
            status=EnvironmentStatus.READY,
        )  # fmt: skip
        made.append(EnvironmentView(env, env.status, True, True, assess_freshness(None, None, NOW)))
    return made


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EnvironmentsTable(CostModel("USD", {}, 0.0), id="environments")


def age(table: EnvironmentsTable, uid: str) -> str:
    return str(table.get_cell(uid, "age"))


def aged(seconds: int) -> str:
    return format_age(timedelta(seconds=seconds))


async def test_the_tick_updates_rows_in_view_and_rows_as_they_scroll_into_view() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(EnvironmentsTable)
        table.sync(views(), NOW)
        await pilot.pause()
        assert table.row_count == ROWS
        assert age(table, "u0000") == aged(30) and age(table, "u0250") == aged(280)
        table.tick(NOW + timedelta(seconds=25))
        assert age(table, "u0000") == aged(55)  # in view
        assert age(table, "u0010") == aged(65) == "1m"
        assert age(table, "u0250") == aged(280) == "4m"  # far below: not computed until it is seen
        table.move_cursor(row=ROWS - 50)
        await pilot.pause()
        assert age(table, "u0250") == aged(305) == "5m"  # scrolled into view: brought up to the last tick
        table.tick(NOW + timedelta(seconds=40))
        assert age(table, "u0000") == aged(55)  # out of view now
        table.move_cursor(row=0)
        await pilot.pause()
        assert age(table, "u0000") == aged(70) == "1m"


async def test_a_reconciliation_rewrites_only_rows_that_changed_and_sorts_new_rows_once() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(EnvironmentsTable)
        table.sort_column = "id"
        relayouts: list[datetime] = []
        original = table.relayout

        def counting(now: datetime) -> None:
            relayouts.append(now)
            original(now)

        table.relayout = counting  # type: ignore[method-assign]
        first = views()
        table.sync(first, NOW)
        assert len(relayouts) == 1  # not one per new row
        assert str(table.get_row_at(0)[0]) == "env-0000"
        written: list[tuple[object, str]] = []
        update = table.update_cell

        def recording(row: object, column: object, value: object, **kwargs: object) -> None:
            written.append((row, str(value)))
            update(row, column, value, **kwargs)  # type: ignore[arg-type]

        table.update_cell = recording  # type: ignore[assignment, method-assign]
        changed = replace(first[7], status=EnvironmentStatus.DEGRADED)
        table.sync([changed if v is first[7] else v for v in first], NOW)
        await pilot.pause()
        assert written == [("u0007", "degraded")]
        assert len(relayouts) == 1
