"""The real app driven by Pilot against the real service: real environments, real processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static
from textual.widgets.tree import TreeNode

from stagetui.config import load_config
from stagetui.config.keymap import BINDINGS
from stagetui.service.api import StagetuiService
from stagetui.ui.app import StagetuiApp
from stagetui.ui.screens.approve import ApproveScreen
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.detail import DetailScreen
from stagetui.ui.screens.help import HelpScreen
from stagetui.ui.screens.launch import LaunchScreen
from stagetui.ui.widgets.drift_panel import DriftPanel
from stagetui.ui.widgets.provisioning_panel import ProvisioningPanel
from tests.integration.helpers import processes_of

SIZE = (100, 32)


def make_app(config: Path, **environ: str) -> StagetuiApp:
    return StagetuiApp(StagetuiService.open(load_config(config), {**os.environ, **environ}))


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app did not get there in time")


def statuses(app: StagetuiApp) -> dict[str, str]:
    table = app.dashboard.table
    return {view.environment.id: view.status.value for view in table.views.values()}


async def launch(app: StagetuiApp, pilot: Pilot[None], branch: str, strategy: str = "containerized") -> str:
    await pilot.press("n")
    assert isinstance(app.screen, LaunchScreen)
    app.screen.query_one("#branch", Input).value = branch
    app.screen.query_one("#strategy").value = strategy  # type: ignore[attr-defined]
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: any(s == "ready" for s in statuses(app).values()) or "failed" in statuses(app).values()
    )
    # The table can show the status first (a reconciliation may read the store before the run's last events
    # arrive): wait for the run itself to end as well.
    await wait_until(pilot, lambda: all(run.finished_at for run in app.dashboard.tracker.runs.values()))
    return next(iter(app.dashboard.tracker.runs.values())).environment_id


async def test_launch_shows_progress_then_ready(small_config: Path, state_dir: Path) -> None:
    app = make_app(small_config)
    async with app.run_test(size=(140, 50)) as pilot:  # tall enough for every step of the run
        env_id = await launch(app, pilot, "ui/launch")
        assert statuses(app) == {env_id: "ready"}
        run = next(iter(app.dashboard.tracker.runs.values()))
        assert len(app.dashboard.tracker.runs) == 1  # one launch, one run: events are not duplicated
        assert all(step.outcome is not None for step in run.steps.values())
        panel = str(app.dashboard.query_one("#provisioning", ProvisioningPanel).render())
        assert env_id in panel and "check_drift" in panel
        assert processes_of(env_id, state_dir)
        await wait_until(pilot, lambda: "ready in" in " ".join(n.message for n in app._notifications))
    assert processes_of(env_id, state_dir)  # environments outlive the app that launched them
    service = StagetuiService.open(load_config(small_config))
    assert [v.environment.id for v in service.environments()] == [env_id]
    await service.down(env_id)
    assert not processes_of(env_id, state_dir)


async def test_teardown_asks_and_removes_everything(small_config: Path, state_dir: Path) -> None:
    app = make_app(small_config)
    async with app.run_test(size=SIZE) as pilot:
        env_id = await launch(app, pilot, "ui/teardown")
        await pilot.press("ctrl+d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert statuses(app) == {env_id: "ready"}
        await pilot.press("ctrl+d")
        await pilot.press("y")
        await wait_until(pilot, lambda: statuses(app) == {})
        assert not processes_of(env_id, state_dir)
        assert not (state_dir / "environments" / env_id).exists()


async def test_bad_branch_is_rejected_inline_and_nothing_launches(
    small_config: Path, state_dir: Path
) -> None:
    app = make_app(small_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, LaunchScreen)
        dialog.query_one("#branch", Input).value = "x" * 201
        await pilot.pause()
        assert "longer than 200" in str(dialog.query_one("#branch-preview", Static).render())
        assert dialog.query_one("#launch", Button).disabled
        await pilot.press("enter")
        assert isinstance(app.screen, LaunchScreen)  # still open: nothing was submitted
        dialog.query_one("#branch", Input).value = "fine/branch"
        dialog.query_one("#ttl", Input).value = "forever"
        await pilot.pause()
        assert dialog.query_one("#launch", Button).disabled
        await pilot.press("escape")
        assert not isinstance(app.screen, LaunchScreen)
        assert app.dashboard.tracker.runs == {}
    assert not (state_dir / "environments").exists()


async def test_engine_failure_is_notified_and_rolled_back(small_config: Path, state_dir: Path) -> None:
    app = make_app(small_config, STAGETUI_FAILPOINTS="start_services:after")
    async with app.run_test(size=SIZE) as pilot:
        env_id = await launch(app, pilot, "ui/failing")
        assert statuses(app) == {env_id: "failed"}
        await wait_until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        message = next(n.message for n in app._notifications if n.severity == "error")
        assert "start_services: failpoint" in message and "rolled back" in message
        assert not processes_of(env_id, state_dir)
        assert not (state_dir / "environments" / env_id).exists()
        assert app.is_running  # the app survived


async def test_filter_and_sort(small_config: Path, state_dir: Path) -> None:
    service = StagetuiService.open(load_config(small_config))
    ids = [
        (await service.up(service.up_request(b, strategy="containerized"))).environment.id
        for b in ("alpha", "beta")
    ]
    app = make_app(small_config)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = app.dashboard.table
            await wait_until(pilot, lambda: table.row_count == 2)
            await pilot.press("slash")
            assert app.focused is app.dashboard.query_one("#filter", Input)
            await pilot.press("a", "l", "p")
            await wait_until(pilot, lambda: table.row_count == 1)
            assert table.selected is not None and table.selected.environment.id == ids[0]
            await pilot.press("escape")
            await wait_until(pilot, lambda: table.row_count == 2)

            def first_id() -> str:
                return str(table.get_row_at(0)[0])

            await pilot.press("s")  # by id
            assert table.sort_column == "id" and first_id() == min(ids)
            await pilot.press("S")
            assert first_id() == max(ids)
    finally:
        for env_id in ids:
            await service.down(env_id)


async def test_detail_screen_shows_steps_and_log(small_config: Path, state_dir: Path) -> None:
    app = make_app(small_config)
    async with app.run_test(size=SIZE) as pilot:
        env_id = await launch(app, pilot, "ui/detail")
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        steps = app.screen.query_one("#detail-steps", DataTable)
        await wait_until(pilot, lambda: steps.row_count >= 8)
        assert "listening" in " ".join(app.screen.query_one("#detail-log").lines)  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert app.screen is app.dashboard
        await app.backend.down(env_id)


async def test_help_lists_every_binding_and_the_palette_offers_every_action(
    small_config: Path, state_dir: Path
) -> None:
    app = make_app(small_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table", DataTable)
        listed = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert {spec.id for spec in BINDINGS} <= listed
        await pilot.press("escape")
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for spec in BINDINGS:
            if spec.scope == "dashboard":
                assert (spec.description if spec.show else spec.tooltip) in titles
        for binding in [*app.BINDINGS, *app.dashboard.BINDINGS]:
            assert binding.id and binding.tooltip  # type: ignore[union-attr]


async def test_keymap_override_and_theme_switch(tmp_path: Path, small_config: Path, state_dir: Path) -> None:
    config = tmp_path / "keys.yaml"
    config.write_text(small_config.read_text() + "ui:\n  theme: stagetui-light\n  keymap:\n    launch: a\n")
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "stagetui-light"
        await pilot.press("n")
        assert not isinstance(app.screen, LaunchScreen)
        await pilot.press("a")
        assert isinstance(app.screen, LaunchScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+t")
        assert app.theme != "stagetui-light"


async def test_quitting_mid_provisioning_asks_then_rolls_back(small_config: Path, state_dir: Path) -> None:
    app = make_app(small_config, STAGETUI_FAILPOINTS="health_check:hang")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#branch", Input).value = "ui/quit"
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: any((state_dir / "environments").glob("*/service.port")))
        env_id = next((state_dir / "environments").iterdir()).name
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running)
    assert not processes_of(env_id, state_dir)
    assert not (state_dir / "environments" / env_id).exists()


def tree_nodes(node: TreeNode[str | None]) -> list[TreeNode[str | None]]:
    found = [node]
    for child in node.children:
        found += tree_nodes(child)
    return found


async def test_a_difference_is_approved_from_the_drift_tree(small_config: Path, state_dir: Path) -> None:
    app = make_app(small_config)
    async with app.run_test(size=(140, 50)) as pilot:
        env_id = await launch(app, pilot, "ui/approve")
        tree = app.dashboard.query_one("#drift", DriftPanel)
        await wait_until(pilot, lambda: "unapproved" in str(tree.root.label))
        leaf = next(n for n in tree_nodes(tree.root) if n.data == "app.cache.ttl_seconds")
        tree.focus()
        tree.move_cursor(leaf)
        await pilot.pause()
        await pilot.press("a")
        dialog = app.screen
        assert isinstance(dialog, ApproveScreen)
        assert dialog.query_one("#approve-pattern", Input).value == "app.cache.ttl_seconds"
        dialog.query_one("#approve-reason", Input).value = "ephemeral caches are short"
        dialog.query_one("#approve-expires", Input).value = "yesterday"
        await pilot.press("enter")
        assert "not a date" in str(dialog.query_one("#approve-error", Static).render())
        dialog.query_one("#approve-expires", Input).value = "2099-12-31"
        await pilot.press("enter")

        def approved_in_tree() -> bool:
            return any("until 2099-12-31" in str(n.label) for n in tree_nodes(tree.root))

        await wait_until(pilot, approved_in_tree)
        patterns = [a.pattern for a, _ in app.backend.drift_approvals(env_id)]
        assert "app.cache.ttl_seconds" in patterns
        await app.backend.down(env_id)


async def test_the_drift_panel_plots_each_environments_drift_history(
    small_config: Path, state_dir: Path
) -> None:
    from textual.widgets import Sparkline

    app = make_app(small_config)
    async with app.run_test(size=(140, 50)) as pilot:
        env_id = await launch(app, pilot, "ui/history")
        history = app.dashboard.query_one("#drift-history", Sparkline)
        assert not history.display  # one check (at provisioning) is not a history yet
        for _ in range(2):
            app.backend.drift_check(env_id)
        app.dashboard.action_reload()  # as the periodic reconciliation would
        await wait_until(pilot, lambda: history.display and len(list(history.data or [])) == 3)
        assert "3 checks" in str(app.dashboard.query_one("#drift-box").border_subtitle)
        await app.backend.down(env_id)
