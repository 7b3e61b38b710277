"""The nodes screen, opened with its key from the seeded dashboard; the clusters' answers come from the
FrozenCluster stand-ins of seeded.py (no Docker needed): rows and tones, the selected environment's nodes,
a line per cluster that does not answer, reloading; and snapshots of both cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from stagetui.ui.app import StagetuiApp
from stagetui.ui.nodes_model import NODE_COLUMN_KEYS, PLACED_MARK
from stagetui.ui.screens.nodes import NodesScreen
from stagetui.ui.tones import tone_style
from stagetui.ui.view_models import Tone
from tests.ui.seeded import NO_ENGINE, PAYMENTS, RELEASE, FrozenCluster, seeded_app, seeded_nodes

SnapCompare = Callable[..., bool]
KEY = "C"
"""The nodes binding's default key (config/keymap.py)."""
COLUMN = {key: index for index, key in enumerate(NODE_COLUMN_KEYS)}


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def open_nodes(pilot: Pilot[Any], row: int | None) -> NodesScreen:
    """From the loaded dashboard, with `row` selected (None: the cursor stays on the first row), press the
    key."""
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, StagetuiApp)
    assert app.dashboard.table.row_count == 5, "the seeded environments did not load"
    if row is not None:
        app.dashboard.table.move_cursor(row=row)
        await settle(pilot)
    await pilot.press(KEY)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, NodesScreen)
    return screen


def rows_of(table: DataTable[Any]) -> list[list[Text]]:
    return [list(table.get_row_at(index)) for index in range(table.row_count)]


async def test_nodes_of_each_cluster_with_tones_marks_and_a_line_per_silent_one(tmp_path: Path) -> None:
    app, planted = seeded_app(tmp_path / "state")
    silent = FrozenCluster([], name="swarm-eu", error=NO_ENGINE)
    app.backend.core.runtimes["swarm-eu"] = silent
    release = planted[RELEASE].env.id
    async with app.run_test(size=(140, 36)) as pilot:
        screen = await open_nodes(pilot, RELEASE)
        table = screen.query_one(".nodes-table", DataTable)
        assert table.border_title == "swarm · 4 nodes, 2 schedulable"
        rows = {str(row[COLUMN["node"]]): row for row in rows_of(table)}
        assert list(rows) == ["swarm-manager-1", "swarm-worker-1", "swarm-worker-2", "swarm-worker-3"]
        assert str(rows["swarm-manager-1"][COLUMN["role"]]) == "manager (leader)"
        assert str(rows["swarm-worker-1"][COLUMN["tasks"]]) == "3"
        placed = str(rows["swarm-worker-1"][COLUMN["environments"]]).splitlines()
        assert placed == [f"{planted[PAYMENTS].env.id} (1)", f"{release} (2)"]
        assert str(rows["swarm-worker-2"][COLUMN["memory"]]) == "16.0 GiB"

        drained = rows["swarm-worker-2"][COLUMN["availability"]]
        assert str(drained) == "drain"
        assert drained.style == tone_style(screen.app, Tone.ERROR)
        assert rows["swarm-worker-1"][COLUMN["availability"]].style == tone_style(screen.app, Tone.SUCCESS)
        assert rows["swarm-worker-3"][COLUMN["state"]].style == tone_style(screen.app, Tone.ERROR)

        marked = [name for name, row in rows.items() if str(row[COLUMN["mark"]]) == PLACED_MARK]
        assert marked == ["swarm-manager-1", "swarm-worker-1"]  # where the selected full clone runs

        summary = str(screen.query_one("#nodes-summary", Static).render())
        assert "4 nodes · 2 schedulable · 3 environments placed" in summary
        assert f"{release}: 3 tasks on swarm-manager-1 (1), swarm-worker-1 (2)" in summary

        problem = screen.query_one(".nodes-problem", Static)
        assert problem.border_title == "swarm-eu"
        assert not problem.has_class("-warning")  # nothing runs on it: calm
        text = str(problem.render())
        assert (
            "swarm-eu: Swarm manager at unix:///var/run/docker.sock: the Docker engine does not answer"
            in text
        )
        assert "nothing is missing" in text

        # The swarm stops answering: `r` asks again, its table gives way to the line saying why.
        app.backend.core.runtimes["swarm"] = FrozenCluster([], error="the Docker engine does not answer")
        await pilot.press("r")
        await settle(pilot)
        assert not screen.query(".nodes-table")
        assert [str(p.border_title) for p in screen.query(".nodes-problem")] == ["swarm", "swarm-eu"]
        assert "no cluster answered" in str(screen.query_one("#nodes-summary", Static).render())

        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_a_silent_cluster_with_environments_on_it_is_a_warning(tmp_path: Path) -> None:
    app, _ = seeded_app(tmp_path / "state")
    # As the dashboard would open it with two environments on the swarm.
    app.backend.core.runtimes["swarm"] = FrozenCluster([], error=NO_ENGINE)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(NodesScreen(app.backend, None, {"swarm": 2}))
        await settle(pilot)
        problem = app.screen.query_one(".nodes-problem", Static)
        assert problem.has_class("-warning")
        assert "2 environments on swarm cannot be seen" in str(problem.render())


# --- snapshots --------------------------------------------------------------------------------------------
def opening_nodes(
    row: int | None, swarm: FrozenCluster | None = None
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, StagetuiApp)
        if swarm is not None:
            app.backend.core.runtimes["swarm"] = swarm
        await open_nodes(pilot, row)

    return run_before


def test_nodes_screen_snapshot(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """Four nodes (leader, busy worker, drained, down), the selected full clone's two nodes marked."""
    app, _ = seeded_app(tmp_path / "state")
    assert snap_compare(app, terminal_size=(140, 24), run_before=opening_nodes(RELEASE))


def test_nodes_screen_without_a_swarm_snapshot(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The normal case on a machine without a swarm: a calm line saying why, and what would change it."""
    app, _ = seeded_app(tmp_path / "state")
    silent = FrozenCluster([], error=NO_ENGINE)
    assert snap_compare(app, terminal_size=(80, 24), run_before=opening_nodes(None, silent))


async def test_without_a_selection_no_node_is_marked(tmp_path: Path) -> None:
    """Every mark cell empty (a column of nothing) must still draw: rows here are as tall as their cells."""
    app, _ = seeded_app(tmp_path / "state")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(NodesScreen(app.backend))
        await settle(pilot)
        table = app.screen.query_one(".nodes-table", DataTable)
        assert table.row_count == 4
        assert not any(str(row[COLUMN["mark"]]) for row in rows_of(table))
        assert "3 tasks on" not in str(app.screen.query_one("#nodes-summary", Static).render())


async def test_a_reload_shows_what_changed_where_the_table_was_scrolled(tmp_path: Path) -> None:
    """80 columns: the environments are scrolled to; a worker is drained meanwhile; `r` shows it there."""
    app, planted = seeded_app(tmp_path / "state")
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_nodes(pilot, RELEASE)
        table = screen.query_one(".nodes-table", DataTable)
        table.scroll_to(x=40, animate=False)
        await settle(pilot)
        assert table.scroll_x == 40
        nodes = [
            replace(node, availability="drain") if node.hostname == "swarm-worker-1" else node
            for node in seeded_nodes(planted)
        ]
        app.backend.core.runtimes["swarm"] = FrozenCluster(nodes)
        await pilot.press("r")
        await settle(pilot)
        assert screen.query_one(".nodes-table", DataTable) is table  # same clusters: the table stays
        rows = {str(row[COLUMN["node"]]): row for row in rows_of(table)}
        assert rows["swarm-worker-1"][COLUMN["availability"]].style == tone_style(screen.app, Tone.ERROR)
        assert table.border_title == "swarm · 4 nodes, 1 schedulable"
        assert table.scroll_x == 40
