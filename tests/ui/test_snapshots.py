"""Snapshot tests of the main screens, on a seeded store with a frozen clock (see seeded.py).

Regenerate after an intended change of the UI with `pytest tests/ui --snapshot-update`, then look at the
SVGs under __snapshots__/ before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Input, TabbedContent

from stagetui.ui.app import StagetuiApp
from stagetui.ui.screens.detail import DetailScreen
from stagetui.ui.screens.help import HelpScreen
from stagetui.ui.screens.launch import LaunchScreen
from stagetui.ui.widgets.drift_panel import DriftPanel
from tests.ui.seeded import GRAPHQL, RELEASE, seeded_app

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[Any]], Awaitable[None]]

NARROW = (80, 24)
WIDE = (140, 40)
"""Above the 120-column breakpoint, where the screen gets the -wide class."""


def make_app(tmp_path: Path, theme: str = "stagetui-dark") -> StagetuiApp:
    app, _ = seeded_app(tmp_path / "state", theme)
    return app


async def settle(pilot: Pilot[Any]) -> None:
    """Let thread workers (reconciliation, drift and detail loads) finish and their messages land."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def app_of(pilot: Pilot[Any]) -> StagetuiApp:
    app = pilot.app
    assert isinstance(app, StagetuiApp)
    return app


async def loaded(pilot: Pilot[Any]) -> None:
    """The dashboard with the seeded environments, drawn at its settled layout.

    Reloads once after the first layout: the freshness panel fits its lines to the width it has when it is
    drawn, and its first draw precedes its scrollbar (the 1 s tick would redraw it, or not, before the
    screenshot). Reloading is what ctrl+r does, and reloading static data changes nothing else.
    """
    await settle(pilot)
    app = app_of(pilot)
    assert app.dashboard.table.row_count == 5, "the seeded environments did not load"
    app.dashboard.action_reload()
    await settle(pilot)


async def select(pilot: Pilot[Any], row: int) -> None:
    await loaded(pilot)
    app_of(pilot).dashboard.table.move_cursor(row=row)
    await settle(pilot)


def selecting(row: int) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await select(pilot, row)

    return run_before


# --- dashboard --------------------------------------------------------------------------------------------
def test_dashboard_narrow(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """80x24: table above, provisioning + freshness and drift panels below; the full clone is selected."""
    assert snap_compare(make_app(tmp_path), terminal_size=NARROW, run_before=selecting(RELEASE))


def test_dashboard_wide(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """140x40: the layout of terminals wider than the breakpoint; every column of the table shows."""
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=selecting(RELEASE))


def test_dashboard_light_theme(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The same wide dashboard in stagetui-light (set in the config, as a user would)."""
    app = make_app(tmp_path, theme="stagetui-light")
    assert snap_compare(app, terminal_size=WIDE, run_before=selecting(RELEASE))


# --- launch dialog ----------------------------------------------------------------------------------------
def typing_branch(branch: str, *, launchable: bool) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("n")  # the launch binding is part of what is tested
        screen = pilot.app.screen
        assert isinstance(screen, LaunchScreen)
        box = screen.query_one("#branch", Input)
        box.cursor_blink = False  # a blinking cursor would be caught on or off at random
        box.value = branch
        box.cursor_position = len(branch)
        await settle(pilot)
        assert screen.query_one("#launch", Button).disabled is not launchable

    return run_before


def test_launch_dialog_valid_branch(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """A valid branch: the preview shows the environment id it will get, Launch is enabled."""
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=NARROW, run_before=typing_branch("feat/login", launchable=True))


def test_launch_dialog_invalid_branch(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """A tab in the branch: the inline error replaces the preview, Launch is disabled."""
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=NARROW, run_before=typing_branch("feat/\tlogin", launchable=False))


# --- detail screen ----------------------------------------------------------------------------------------
def opening_detail(row: int, tab: str | None = None) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await select(pilot, row)
        app_of(pilot).dashboard.action_detail()
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, DetailScreen)
        if tab is not None:
            screen.query_one("#detail-tabs", TabbedContent).active = tab
            await settle(pilot)
            screen.query_one("#detail-drift", DriftPanel).root.expand_all()
            await settle(pilot)

    return run_before


def test_detail_steps_with_rollback(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The interrupted snapshot: steps with timings and shares, the failed health check, a failed rollback."""
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=(100, 30), run_before=opening_detail(GRAPHQL))


def test_detail_drift_tab(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The full clone's drift, every group expanded: changed, added, removed, approved, a redacted secret."""
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=(100, 36), run_before=opening_detail(RELEASE, "tab-drift"))


def test_detail_data_tab(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The full clone's data fidelity per table: masked columns and values, the no-leak proof, orphans."""
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=(100, 30), run_before=opening_detail(RELEASE, "tab-data"))


def test_detail_services_tab(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """A running environment's services: state, health, CPU, memory against its limit, restarts, ports."""
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=(100, 24), run_before=opening_detail(RELEASE, "tab-services"))


# --- help -------------------------------------------------------------------------------------------------
def test_help_screen(snap_compare: SnapCompare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        app_of(pilot).action_help()
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(make_app(tmp_path), terminal_size=NARROW, run_before=run_before)
