"""The improvement-cycle screens: compare, benchmarks, experiments, notes — interactions and snapshots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from stagetui.ui.app import StagetuiApp
from stagetui.ui.screens.benchmark_form import BenchmarkForm
from stagetui.ui.screens.benchmarks import BenchmarksScreen
from stagetui.ui.screens.compare import CompareScreen
from stagetui.ui.screens.experiment_form import ExperimentForm
from stagetui.ui.screens.experiments import ExperimentsScreen
from stagetui.ui.screens.notes import NotesScreen
from tests.ui.seeded_cycle import seeded_cycle_app

SnapCompare = Callable[..., bool]


async def settle(pilot: Pilot[None], app: StagetuiApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def opened(key: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, StagetuiApp)
        await settle(pilot, app)
        await pilot.press(key)
        await settle(pilot, app)

    return run_before


def test_compare_screen_snapshot(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(seeded_cycle_app(tmp_path / "state"), terminal_size=(120, 36), run_before=opened("c"))


def test_benchmarks_screen_snapshot(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(seeded_cycle_app(tmp_path / "state"), terminal_size=(120, 30), run_before=opened("b"))


def test_experiments_screen_snapshot(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(seeded_cycle_app(tmp_path / "state"), terminal_size=(120, 30), run_before=opened("e"))


async def test_compare_measures_each_strategy_and_plots(tmp_path: Path) -> None:
    app = seeded_cycle_app(tmp_path / "state")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        await settle(pilot, app)
        assert isinstance(app.screen, CompareScreen)
        table = app.screen.query_one("#compare-table", DataTable)
        header = [str(column.label) for column in table.columns.values()]
        assert header == ["", "full_clone", "snapshot", "containerized"]
        rows = {
            str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)[1:]]
            for i in range(table.row_count)
        }
        assert rows["environments"] == ["33", "42", "42"]  # tagged experiment samples are left out
        assert all(value != "-" for value in rows["provisioning p50"])


async def test_experiment_shows_its_result_and_a_new_one_starts(tmp_path: Path) -> None:
    app = seeded_cycle_app(tmp_path / "state")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        result = str(screen.query_one("#experiment-result", Static).render())
        assert "parallel-copy" in result and "improved" in result and "hypothesis holds" in result
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, ExperimentForm)
        form.query_one("#exp-name", Input).value = "faster-snapshots"
        form.query_one("#exp-hypothesis", Input).value = "reflink copies halve restore time"
        form.query_one("#exp-expect", Input).value = "fifty percent"
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, ExperimentForm)
        assert "not like -50%" in str(form.query_one("#exp-error", Static).render())
        form.query_one("#exp-expect", Input).value = "-50%"
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is screen
        assert {e.id for e in app.backend.experiments()} == {"parallel-copy", "faster-snapshots"}


async def test_benchmark_added_from_the_ui_and_bad_definitions_refused(tmp_path: Path) -> None:
    app = seeded_cycle_app(tmp_path / "state")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("b")
        await settle(pilot, app)
        assert isinstance(app.screen, BenchmarksScreen)
        baseline = str(app.screen.query_one("#baseline-panel", Static).render())
        assert "samples" in baseline
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, BenchmarkForm)
        form.query_one("#bench-name", Input).value = "snapshot-p95"
        form.query_one("#bench-target", Input).value = "soon"
        await pilot.press("enter")
        assert "not a number" in str(form.query_one("#bench-error", Static).render())
        form.query_one("#bench-target", Input).value = "120"
        form.query_one("#bench-aggregation").value = "share_under"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("enter")
        assert "share_under needs a limit" in str(form.query_one("#bench-error", Static).render())
        form.query_one("#bench-aggregation").value = "p95"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot, app)
        assert "snapshot-p95" in app.backend.benchmark_names()


async def test_notes_are_drafted_as_typed_recovered_and_saved(tmp_path: Path) -> None:
    state = tmp_path / "state"
    app = seeded_cycle_app(state)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, NotesScreen)
        screen.query_one("#note-title", Input).value = "Week 2"
        screen.query_one("#note-body", TextArea).text = "## What worked\nsnapshots ☃ [red]not markup[/red]\n"
        for _ in range(100):  # the autosave runs after a pause in typing; poll, do not time it
            if any(draft.title == "Week 2" for draft in app.backend.drafts()):
                break
            await pilot.pause(0.05)
        drafts = app.backend.drafts()
        assert [(d.title, d.body) for d in drafts] == [
            ("Week 2", "## What worked\nsnapshots ☃ [red]not markup[/red]\n")
        ]
    # a new app (as after a crash) finds the draft and opens it in the editor
    again = seeded_cycle_app(state)
    async with again.run_test(size=(120, 36)) as pilot:
        await settle(pilot, again)
        await pilot.press("N")
        await settle(pilot, again)
        screen = again.screen
        assert isinstance(screen, NotesScreen)
        assert screen.query_one("#note-title", Input).value == "Week 2"
        await pilot.press("ctrl+s")
        await settle(pilot, again)
        saved = [n for n in again.backend.notes() if n.title == "Week 2"]
        assert saved and saved[0].body.endswith("[red]not markup[/red]\n")
        assert again.backend.drafts() == []


def test_notes_screen_snapshot(snap_compare: SnapCompare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, StagetuiApp)
        await settle(pilot, app)
        await pilot.press("N")
        await settle(pilot, app)
        screen = app.screen
        title, body = screen.query_one("#note-title", Input), screen.query_one("#note-body", TextArea)
        title.cursor_blink = body.cursor_blink = False  # a blinking cursor would make the snapshot random
        title.value = "Parallel copy: week 2"
        await pilot.pause()

    assert snap_compare(seeded_cycle_app(tmp_path / "state"), terminal_size=(120, 32), run_before=run_before)
