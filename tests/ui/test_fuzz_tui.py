"""Hostile input to the terminal UI: random keys on every screen and random text in every form end in a clear
error in the UI or a correct result. The app never raises, no worker dies, ctrl+q still quits, and a form
that refuses its input writes nothing to the store.

The real app runs headless on the seeded store of the UI tests, with failpoints that stop a launch or a
teardown at its first step (tests/ui/fuzz_driver.py). One app per example and many inputs per app: an app
starts in ~0.3 s, a burst of keys takes ~0.1 s, a form ~0.5 s, a launch ~1 s; both tests take ~45 s.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import Phase, event, example, given, settings
from hypothesis import strategies as st
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, Static, TextArea
from textual.widgets.tree import TreeNode

from stagetui.config.model import METRICS
from stagetui.domain.benchmarks import Aggregation
from stagetui.domain.durations import InvalidDurationError, parse_duration
from stagetui.domain.ids import InvalidBranchError, slugify, validate_branch
from stagetui.domain.models import Strategy
from stagetui.domain.notes import MAX_BODY, MAX_TITLE
from stagetui.ui.app import StagetuiApp
from stagetui.ui.screens.approve import ApproveScreen
from stagetui.ui.screens.benchmark_form import BenchmarkForm
from stagetui.ui.screens.benchmarks import BenchmarksScreen
from stagetui.ui.screens.compare import CompareScreen
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.cycle_screen import ANY
from stagetui.ui.screens.dashboard import DashboardScreen
from stagetui.ui.screens.detail import DetailScreen
from stagetui.ui.screens.experiment_form import ExperimentForm, parse_expected
from stagetui.ui.screens.experiments import ExperimentsScreen
from stagetui.ui.screens.help import HelpScreen
from stagetui.ui.screens.launch import LaunchScreen
from stagetui.ui.screens.nodes import NodesScreen
from stagetui.ui.screens.notes import NotesScreen
from stagetui.ui.widgets.drift_panel import DriftPanel
from tests.ui.fuzz_driver import WorkerWatch, burst, fuzz_app, paste, settle, store_files
from tests.ui.seeded import FROZEN, RELEASE
from tests.unit.fuzz_settings import fuzz


def ui_fuzz(max_examples: int) -> settings:
    """The fuzz profile without the explain phase: each case starts an app, and explaining a failure reruns
    hundreds of them (minutes) for a note a shrunk example already makes plain."""
    return settings(fuzz(max_examples), phases=(Phase.explicit, Phase.generate, Phase.shrink))


SIZE = (120, 36)
SIZES = st.sampled_from([SIZE, (80, 24), (200, 50)])
"""Wide (panels beside the table), the smallest supported (panels below it), and large."""
SCREENS = (
    DashboardScreen,
    LaunchScreen,
    ApproveScreen,
    ConfirmScreen,
    HelpScreen,
    DetailScreen,
    CompareScreen,
    BenchmarksScreen,
    BenchmarkForm,
    ExperimentsScreen,
    ExperimentForm,
    NotesScreen,
    NodesScreen,
)

# --- what is typed ----------------------------------------------------------------------------------------
BOUND = sorted(
    {
        key.strip()
        for owner in (App, StagetuiApp, *SCREENS)
        for binding in owner.BINDINGS
        if not isinstance(binding, tuple)
        for key in binding.key.split(",")
    }
    | {App.COMMAND_PALETTE_BINDING}
)
"""Every key bound anywhere in the app: its screens, stagetui's keymap, Textual's own."""
OPENERS = ["n", "enter", "slash", "a", "ctrl+d", "c", "b", "e", "N", "C", "R", "G", "question_mark"]
"""Dashboard keys that open a screen, a dialog or the filter: each sequence starts with one. (The command
palette, ctrl+p, is left to the bound keys: it takes every key typed after it, until escape.)"""
EDITING = [
    *("up", "down", "left", "right", "home", "end", "pageup", "pagedown", "tab", "shift+tab", "enter"),
    *("escape", "space", "backspace", "delete", "insert", "ctrl+a", "ctrl+e", "ctrl+k", "ctrl+u", "ctrl+w"),
    *("ctrl+x", "ctrl+v", "ctrl+z", "ctrl+y", "ctrl+f", "ctrl+left", "ctrl+right", "shift+left"),
    *("shift+right", "shift+up", "shift+down", "shift+home", "shift+end", "f1", "f5", "ctrl+space"),
    *("ctrl+@", "alt+x"),
]
"""What the widgets (inputs, tables, trees, selects, text areas, tabs) do something with."""
ODD_CHARACTERS = "[]/\\$%{}'\"`\x00\x1b\t\n\r\x7f\u202e\u200b\u2028ﬁéİß🙂表\U0010ffff"
ODD = st.sampled_from(
    [*ODD_CHARACTERS, "[/]", "[b]", "[red", "[/red]", "$text", "[@click=app.quit]x[/]", "%s", "{0}", "../"]
)
"""Markup, escapes, bidi and zero-width characters, wide and astral ones: what breaks rendering."""
CHARACTERS = st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(ODD_CHARACTERS))
TYPED = st.one_of(
    st.characters(exclude_categories=["Cs"], exclude_characters="q"), st.sampled_from(ODD_CHARACTERS)
)
"""Typed text leaves out q (it quits from the dashboard) so that most sequences get somewhere; the bound keys
keep q and ctrl+q."""
TEXT = st.one_of(
    st.text(TYPED, max_size=30),
    st.lists(ODD, max_size=12).map("".join),
    st.text(TYPED, min_size=150, max_size=400),
)
KEYS = st.one_of(st.sampled_from(BOUND), st.sampled_from(EDITING), TYPED)

Burst = tuple[str, str | list[str]]
BURSTS: st.SearchStrategy[Burst] = st.one_of(
    st.tuples(st.just("keys"), st.lists(KEYS, min_size=1, max_size=8)),
    st.tuples(st.just("type"), TEXT),
    st.tuples(st.just("paste"), st.one_of(TEXT, st.text(max_size=3000))),
    # Back to the dashboard (as far as escape goes) and into another screen: one sequence visits several.
    st.tuples(st.just("keys"), st.sampled_from(OPENERS).map(lambda key: ["escape", "escape", "escape", key])),
)
HOSTILE = st.one_of(
    st.text(CHARACTERS, max_size=20),
    st.lists(ODD, min_size=1, max_size=6).map("".join),
    st.text(CHARACTERS, min_size=100, max_size=300),
)
"""Text for a form field that is anything but what it asks for."""
NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)


# --- running the app --------------------------------------------------------------------------------------
Scenario = Callable[[Pilot[None], StagetuiApp, Path], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario, size: tuple[int, int] = SIZE) -> None:
    """A fresh seeded app for one example; fails on any exception of the app or of a worker, or if ctrl+q
    does not quit it afterwards."""
    state = tmp_path / f"example-{len(list(tmp_path.iterdir()))}"

    async def main() -> None:
        app = fuzz_app(state)
        watch = WorkerWatch(app)
        # Notifications on: their toasts render what they say, as the user would see it.
        async with app.run_test(size=size, notifications=True) as pilot:
            await settle(pilot, app)
            await scenario(pilot, app, state)
            await settle(pilot, app)
            assert not watch.errors(), watch.errors()
            await _quit(pilot, app)
        assert not watch.errors(), watch.errors()

    asyncio.run(main())


async def _quit(pilot: Pilot[None], app: StagetuiApp) -> None:
    for _ in range(5):
        if not app.is_running:
            return
        screen = app.screen
        asking = isinstance(screen, ConfirmScreen) and screen.question.endswith("Quit?")
        burst(app, ["y" if asking else "ctrl+q"])
        await settle(pilot, app)
    raise AssertionError(f"ctrl+q did not quit, on {app.screen}")


# --- keys on every screen ---------------------------------------------------------------------------------
@ui_fuzz(15)
@given(opener=st.sampled_from(OPENERS), bursts=st.lists(BURSTS, min_size=1, max_size=10), size=SIZES)
# Found: a key typed after q opened a dialog on the closing app, and the nodes screen drew its answer there.
@example(opener="question_mark", bursts=[("keys", ["escape", "q", "G"])], size=SIZE)
@example(opener="escape", bursts=[("keys", ["C", "q"])], size=SIZE)
def test_random_keys_on_every_screen(
    opener: str, bursts: list[Burst], size: tuple[int, int], tmp_path: Path
) -> None:
    async def scenario(pilot: Pilot[None], app: StagetuiApp, state: Path) -> None:
        burst(app, [opener])
        visited = set()
        for kind, content in bursts:
            await pilot.pause()
            if not app.is_running:
                visited.add("(quit)")
                break
            visited.add(type(app.screen).__name__)
            if kind == "paste":
                assert isinstance(content, str)
                paste(app, content)
            else:
                burst(app, list(content))
        for name in visited:
            event(f"visited {name}")
        if app.is_running:
            assert app.backend.environments() is not None  # what the store holds still reads

    _run(tmp_path, scenario, size)


# --- the forms --------------------------------------------------------------------------------------------
@st.composite
def _form(
    draw: st.DrawFn, plausible: dict[str, st.SearchStrategy[str]], hostile: dict[str, st.SearchStrategy[str]]
) -> dict[str, str]:
    """Plausible values in every field, then hostile text in up to two of them: most forms are refused
    for one reason at a time, and some are accepted."""
    values = {name: draw(strategy) for name, strategy in plausible.items()}
    for name in draw(st.sets(st.sampled_from(sorted(hostile)), max_size=2)):
        values[name] = draw(hostile[name])
    return values


def _durations() -> st.SearchStrategy[str]:
    odd = ["0s", "-1h", "1e3h", "36525d", "36526d", "9" * 30 + "d", "²", "٣s", "8 h", "forever", ""]
    return st.one_of(HOSTILE, st.sampled_from(odd))


def _numbers() -> st.SearchStrategy[str]:
    odd = ["1e309", "-inf", "nan", "0x10", "1_000", "١٢", " 7 ", "-0", "1e-320", "", "%", "nan%", "1e309%"]
    return st.one_of(HOSTILE, st.sampled_from(odd), st.floats().map(str))


LAUNCH = _form(
    {
        "#branch": st.one_of(st.from_regex(r"[a-z]{1,8}/[a-z0-9.-]{1,12}", fullmatch=True), HOSTILE),
        "#strategy": st.sampled_from([s.value for s in Strategy]),
        "#runtime": st.sampled_from(["local", "docker", "swarm", "aws"]),
        "#ttl": st.sampled_from(["8h", "30m", "1h30m", "90", "2d"]),
    },
    {"#branch": st.sampled_from(["", " ", "feat/search-v2", "x" * 201]), "#ttl": _durations()},
)
APPROVAL = _form(
    {
        "#approve-pattern": st.sampled_from(["", "app.*", "app.security.csrf"]),  # "": as prefilled
        "#approve-reason": st.sampled_from(["short-lived caches", "agreed in review"]),
        "#approve-by": st.sampled_from(["platform-team", "alice"]),
        "#approve-expires": st.sampled_from(["", "2099-12-31", "2025-03-14"]),
    },
    {
        "#approve-pattern": st.one_of(HOSTILE, st.just(" ")),
        "#approve-reason": st.one_of(HOSTILE, st.just("")),
        "#approve-by": st.one_of(HOSTILE, st.just("  ")),
        "#approve-expires": st.one_of(
            HOSTILE, st.sampled_from(["2025-03-13", "2099-02-30", "20991231", "9999-12-31", "0001-01-01"])
        ),
    },
)
BENCHMARK = _form(
    {
        "#bench-name": st.one_of(NAMES, st.just("zero-drift")),  # zero-drift is defined in the config
        "#bench-metric": st.sampled_from(METRICS),
        "#bench-step": st.just(""),
        "#bench-aggregation": st.sampled_from(
            [a.value for a in Aggregation if a is not Aggregation.SHARE_UNDER]
        ),
        "#bench-limit": st.just(""),
        "#bench-target": st.sampled_from(["120", "0.5", "0", "-3", "1e3"]),
        "#bench-direction": st.sampled_from(["lower", "higher"]),
        "#bench-strategy": st.sampled_from([ANY, *(s.value for s in Strategy)]),
        "#bench-description": st.sampled_from(["", "restores in two minutes"]),
    },
    {
        "#bench-name": st.one_of(HOSTILE, st.just(" ")),
        "#bench-step": st.one_of(HOSTILE, st.just("restore_data")),
        "#bench-aggregation": st.just(Aggregation.SHARE_UNDER.value),
        "#bench-limit": st.one_of(_numbers(), st.just("300")),
        "#bench-target": _numbers(),
        "#bench-description": HOSTILE,
    },
)
EXPERIMENT = _form(
    {
        "#exp-name": st.one_of(NAMES, st.just("parallel-copy")),  # parallel-copy runs already
        "#exp-hypothesis": st.sampled_from(["reflink halves restore time", "warm pools cut waits"]),
        "#exp-change": st.sampled_from(["", "reflink copies"]),
        "#exp-metric": st.sampled_from(METRICS),
        "#exp-strategy": st.sampled_from([ANY, *(s.value for s in Strategy)]),
        "#exp-expect": st.sampled_from(["-50%", "+20%", "\u221225%", "-0.25", "0"]),
    },
    {
        "#exp-name": st.one_of(HOSTILE, st.sampled_from(["--", " ", "é"])),
        "#exp-hypothesis": st.one_of(HOSTILE, st.just(" ")),
        "#exp-change": HOSTILE,
        "#exp-expect": _numbers(),
    },
)
NOTE = _form(
    {
        "#note-title": st.sampled_from(["Week 2", "Snapshots: what worked"]),
        "#note-body": st.sampled_from(["## What worked\n- clones **faster**\n", ""]),
        "#note-link": st.integers(0, 20).map(str),  # which of the links there are when it is written
    },
    {
        "#note-title": st.one_of(HOSTILE, st.sampled_from(["", " ", "x" * (MAX_TITLE + 1)])),
        "#note-body": st.one_of(
            st.text(max_size=2000), st.lists(ODD, max_size=40).map("".join), st.just("x" * (MAX_BODY + 1))
        ),
    },
)
FILTER = st.one_of(
    HOSTILE, st.sampled_from(["feat", "SNAPSHOT", "alice", "ready", "local", "2.4", "-", " ", "a b", "ctr 2"])
)

Attempt = tuple[str, Any]
ATTEMPTS: st.SearchStrategy[Attempt] = st.one_of(
    st.tuples(st.just("launch"), LAUNCH),
    st.tuples(st.just("approve"), APPROVAL),
    st.tuples(st.just("benchmark"), BENCHMARK),
    st.tuples(st.just("experiment"), EXPERIMENT),
    st.tuples(st.just("note"), NOTE),
    st.tuples(st.just("filter"), FILTER),
)


@dataclass(frozen=True)
class Outcome:
    refused: bool
    """The form is still open: it refused the input itself."""
    unchanged: bool
    """No file of the store changed."""
    notified: list[tuple[str, str]]
    """(severity, title: message) of each notification the submission caused."""
    filled: dict[str, str]
    """What each field held when the key was pressed."""

    def refused_by_service(self) -> None:
        """The form passed it on and the service refused it: an error said so, and nothing was written."""
        assert self.unchanged and [severity for severity, _ in self.notified] == ["error"], self.notified


async def _to_dashboard(pilot: Pilot[None], app: StagetuiApp) -> None:
    for _ in range(4):
        if app.screen is app.dashboard:
            return
        burst(app, ["escape"])
        await settle(pilot, app)
    assert app.screen is app.dashboard, app.screen


async def _press(
    pilot: Pilot[None], app: StagetuiApp, keys: list[str], kind: type[Screen[Any]]
) -> Screen[Any]:
    burst(app, keys)
    await settle(pilot, app)
    assert isinstance(app.screen, kind), app.screen
    return app.screen


async def _open(pilot: Pilot[None], app: StagetuiApp, kind: type[Screen[Any]]) -> Screen[Any]:
    """The form of `kind`, opened from the dashboard as a user would (or the one already open)."""
    if isinstance(app.screen, kind):
        return app.screen
    await _to_dashboard(pilot, app)
    if kind is LaunchScreen:
        return await _press(pilot, app, ["n"], LaunchScreen)
    if kind is BenchmarkForm:
        await _press(pilot, app, ["b"], BenchmarksScreen)
        return await _press(pilot, app, ["a"], BenchmarkForm)
    if kind is ExperimentForm:
        await _press(pilot, app, ["e"], ExperimentsScreen)
        return await _press(pilot, app, ["a"], ExperimentForm)
    if kind is NotesScreen:
        return await _press(pilot, app, ["N"], NotesScreen)
    assert kind is ApproveScreen
    # A difference of the full clone (it drifts), selected in the dashboard's drift tree.
    app.dashboard.table.move_cursor(row=RELEASE)
    await settle(pilot, app)
    tree = app.dashboard.query_one("#drift", DriftPanel)
    tree.focus()
    tree.move_cursor(next(node for node in _nodes(tree.root) if node.data))
    return await _press(pilot, app, ["a"], ApproveScreen)


def _nodes(node: TreeNode[str | None]) -> list[TreeNode[str | None]]:
    return [node, *(found for child in node.children for found in _nodes(child))]


async def _submit(
    pilot: Pilot[None], app: StagetuiApp, state: Path, form: Screen[Any], values: dict[str, str], key: str
) -> Outcome:
    """Fill the form (each field as a paste would leave it: its first line; a text area takes it all), press
    `key`, and see what came of it."""
    for selector, value in values.items():
        widget = form.query_one(selector)
        if isinstance(widget, TextArea):
            widget.text = value
        elif isinstance(widget, Input):
            widget.value = value.splitlines()[0] if value.splitlines() else ""
        else:
            assert isinstance(widget, Select)
            widget.value = value
    await pilot.pause()
    fields = [*form.query(Input), *form.query(Select), *form.query(TextArea)]
    filled = {
        f"#{field.id}": field.text if isinstance(field, TextArea) else str(field.value) for field in fields
    }
    before, seen = store_files(state), {n.identity for n in app._notifications}
    burst(app, [key])
    await settle(pilot, app)
    # By identity, not position: older notifications expire meanwhile.
    new = [n for n in app._notifications if n.identity not in seen]
    notified = [(str(n.severity), f"{n.title}: {n.message}") for n in new]
    return Outcome(app.screen is form, store_files(state) == before, notified, filled)


def _shown(screen: Screen[Any], *selectors: str) -> str:
    return " ".join(str(screen.query_one(selector, Static).render()) for selector in selectors)


def _is_branch(text: str) -> bool:
    try:
        validate_branch(text)
    except InvalidBranchError:
        return False
    return True


def _is_ttl(text: str) -> bool:
    try:
        return parse_duration(text) > timedelta(0)
    except InvalidDurationError:
        return False


async def _launch(pilot: Pilot[None], app: StagetuiApp, state: Path, values: dict[str, str]) -> None:
    form = await _open(pilot, app, LaunchScreen)
    known = {env.uid for env in app.backend.core.store.environments()}
    outcome = await _submit(pilot, app, state, form, values, "enter")
    branch, ttl = outcome.filled["#branch"], outcome.filled["#ttl"]
    assert outcome.refused is not (_is_branch(branch) and _is_ttl(ttl)), (branch, ttl, outcome)
    if outcome.refused:
        event("launch: refused by the form")
        assert "✗" in _shown(form, "#branch-preview", "#launch-error"), (branch, ttl)
        assert outcome.unchanged
        return
    new = [env for env in app.backend.core.store.environments() if env.uid not in known]
    if not new:  # a branch that has an environment of this strategy, a runtime that cannot do it
        event("launch: refused by the service")
        outcome.refused_by_service()
        return
    event("launch: started, stopped by the failpoint")
    [env] = new
    assert (env.branch, env.strategy.value, env.runtime) == (branch, values["#strategy"], values["#runtime"])
    assert env.expires_at - env.created_at == parse_duration(ttl)
    assert env.status.value == "failed", env.status_detail  # at its first step (aws: no masking there)
    assert any(severity == "error" and env.id in text for severity, text in outcome.notified)
    # It is on the dashboard, and its detail shows the branch as typed.
    table = app.dashboard.table
    table.focus()  # an approval left the focus on the drift tree, where enter folds a branch
    table.move_cursor(row=table.get_row_index(env.uid))
    detail = await _press(pilot, app, ["enter"], DetailScreen)
    assert f"branch {branch}  ·" in _shown(detail, "#detail-facts")


def _day(text: str) -> date | bool | None:
    """When an approval ends: None for never, False for text that is not a date."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return False


async def _approve(pilot: Pilot[None], app: StagetuiApp, state: Path, values: dict[str, str]) -> None:
    form = await _open(pilot, app, ApproveScreen)
    assert isinstance(form, ApproveScreen)
    values = {key: value for key, value in values.items() if key != "#approve-pattern" or value}
    before = len(app.backend.drift_approvals(form.environment_id))
    outcome = await _submit(pilot, app, state, form, values, "enter")
    pattern, reason, approver, expires = (
        outcome.filled[selector].strip()
        for selector in ("#approve-pattern", "#approve-reason", "#approve-by", "#approve-expires")
    )
    day = _day(expires)
    assert outcome.refused is not (bool(pattern and reason and approver) and day is not False), values
    if outcome.refused:
        event("approval: refused by the form")
        assert "✗" in _shown(form, "#approve-error")
        assert outcome.unchanged
    elif isinstance(day, date) and day < FROZEN.date():
        event("approval: refused by the service")
        outcome.refused_by_service()
    else:
        event("approval: recorded")
        found = [approval for approval, _ in app.backend.drift_approvals(form.environment_id)]
        assert len(found) == before + 1
        assert any(
            (a.pattern, a.reason, a.approver, a.expires) == (pattern, reason, approver, day) for a in found
        )
        # The seeded environments have no workspace to check drift in again: the approval is still told.
        assert [severity for severity, _ in outcome.notified] == ["warning"], outcome.notified
        assert f"approved {pattern}; drift not checked again" in outcome.notified[0][1]


async def _benchmark(pilot: Pilot[None], app: StagetuiApp, state: Path, values: dict[str, str]) -> None:
    form = await _open(pilot, app, BenchmarkForm)
    outcome = await _submit(pilot, app, state, form, values, "enter")
    if outcome.refused:
        event("benchmark: refused by the form")
        assert "✗" in _shown(form, "#bench-error")
        assert outcome.unchanged
        return
    name = outcome.filled["#bench-name"].strip()
    if any(item.benchmark.name == name and item.source == "config" for item in app.backend.benchmarks()):
        event("benchmark: refused by the service")
        outcome.refused_by_service()
        return
    event("benchmark: added")
    added = next(item.benchmark for item in app.backend.benchmarks() if item.benchmark.name == name)
    filled = outcome.filled
    target = float(filled["#bench-target"])
    assert math.isfinite(target)
    assert (added.metric, added.aggregation.value, added.target, added.direction.value) == (
        filled["#bench-metric"],
        filled["#bench-aggregation"],
        target,
        filled["#bench-direction"],
    )
    assert added.description == filled["#bench-description"].strip()
    limit = filled["#bench-limit"].strip()
    assert added.limit == (float(limit) if limit else None), (limit, added.limit)  # NaN is no limit


async def _experiment(pilot: Pilot[None], app: StagetuiApp, state: Path, values: dict[str, str]) -> None:
    form = await _open(pilot, app, ExperimentForm)
    known = {experiment.id for experiment in app.backend.experiments()}
    outcome = await _submit(pilot, app, state, form, values, "enter")
    if outcome.refused:
        event("experiment: refused by the form")
        assert "✗" in _shown(form, "#exp-error")
        assert outcome.unchanged
        return
    identifier = slugify(outcome.filled["#exp-name"], 48)
    if not identifier or identifier in known:
        event("experiment: refused by the service")
        outcome.refused_by_service()
        return
    event("experiment: started")
    started = next(e for e in app.backend.experiments() if e.id == identifier)
    assert started.hypothesis == outcome.filled["#exp-hypothesis"].strip()
    assert started.expected_change == parse_expected(outcome.filled["#exp-expect"])
    assert math.isfinite(started.expected_change)


async def _note(pilot: Pilot[None], app: StagetuiApp, state: Path, values: dict[str, str]) -> None:
    screen = await _open(pilot, app, NotesScreen)
    # Linked to one of what there is (benchmarks and experiments, their names as typed in their forms).
    links = sorted(f"benchmark:{name}" for name in app.backend.benchmark_names())
    links = ["none", *links, *(f"experiment:{e.id}" for e in app.backend.experiments())]
    link = links[int(values["#note-link"]) % len(links)]
    select = screen.query_one("#note-link", Select)
    select.expanded = True  # every choice drawn
    await pilot.pause()
    select.expanded = False
    before = {note.id for note in app.backend.notes()}
    outcome = await _submit(pilot, app, state, screen, {**values, "#note-link": link}, "ctrl+s")
    new = [note for note in app.backend.notes() if note.id not in before]
    title, body = outcome.filled["#note-title"], outcome.filled["#note-body"]
    if not new:
        event("note: refused by the service")
        outcome.refused_by_service()  # the draft is kept, outside the store
        assert not title.strip() or len(title) > MAX_TITLE or len(body) > MAX_BODY
        return
    event("note: saved")
    [note] = new
    assert (note.title, note.body) == (title.strip(), body)
    assert note.linked_to == ("-" if link == "none" else link.replace(":", " ", 1)), note.linked_to
    burst(app, ["ctrl+e"])  # and it renders as markdown
    await pilot.pause()


async def _filter(pilot: Pilot[None], app: StagetuiApp, state: Path, text: str) -> None:
    await _to_dashboard(pilot, app)
    table = app.dashboard.table
    everything = {uid: view for uid, view in table.views.items()}
    burst(app, ["slash", "ctrl+a", "backspace"])
    paste(app, text)
    await pilot.pause()
    words = app.dashboard.query_one("#filter", Input).value.lower().split()

    def shown(uid: str) -> bool:
        env, status = everything[uid].environment, everything[uid].status
        fields = (env.id, env.branch, env.strategy.value, env.runtime, status.value, env.owner)
        return all(word in " ".join(fields).lower() for word in words)

    assert {str(key.value) for key in table.rows} == {uid for uid in everything if shown(uid)}, words
    event("filter: something shown" if table.rows else "filter: nothing shown")
    burst(app, ["enter", "escape"])
    await pilot.pause()
    assert len(table.rows) == len(everything)


FORMS: dict[str, Callable[[Pilot[None], StagetuiApp, Path, Any], Awaitable[None]]] = {
    "launch": _launch,
    "approve": _approve,
    "benchmark": _benchmark,
    "experiment": _experiment,
    "note": _note,
    "filter": _filter,
}


def _benchmark_with(**fields: str) -> dict[str, str]:
    plain = {"name": "p95-snapshot", "metric": "provision.total_seconds", "step": "", "aggregation": "p95"}
    plain |= {"limit": "", "target": "120", "direction": "lower", "strategy": ANY, "description": ""}
    return {f"#bench-{key}": value for key, value in (plain | fields).items()}


def _experiment_with(**fields: str) -> dict[str, str]:
    plain = {"name": "faster-snapshots", "hypothesis": "reflink halves restore time", "change": ""}
    plain |= {"metric": "provision.total_seconds", "strategy": ANY, "expect": "-50%"}
    return {f"#exp-{key}": value for key, value in (plain | fields).items()}


LAUNCHED = {"#strategy": "containerized", "#runtime": "local", "#ttl": "8h"}
APPROVED = {"#approve-reason": "agreed in review", "#approve-by": "alice", "#approve-expires": ""}
FOUND: list[Attempt] = [
    # What the fuzzing found: each crashed the app (markup in what was typed) or said nothing clear.
    ("launch", {**LAUNCHED, "#branch": "ok/branch", "#ttl": "forever"}),  # a bad ttl: a grey button only
    ("launch", {**LAUNCHED, "#branch": "", "#ttl": "8h"}),  # no branch: enter did nothing, said nothing
    ("launch", {**LAUNCHED, "#branch": "fix/[/]", "#ttl": "[/]"}),  # the ttl's error quotes it, as is
    ("launch", {**LAUNCHED, "#branch": "fix/[/]"}),  # its notification, then its detail's facts
    ("approve", {**APPROVED, "#approve-expires": "[/]"}),  # "'[/]' is not a date" as markup
    # Recorded, but the failing re-check was all it said (an error): it looked refused.
    ("approve", {**APPROVED, "#approve-pattern": "app.cache[/]"}),
    ("benchmark", _benchmark_with(target="[/")),  # "'[/' is not a number" as markup
    ("benchmark", _benchmark_with(name="[/red]")),  # its notification, the remove dialog, the notes' links
    ("experiment", _experiment_with(name="[/red]", hypothesis="[/red]")),  # the table, the result panel
    ("experiment", _experiment_with(expect="nan")),  # the form closed on it; the service refused it
    ("benchmark", _benchmark_with(aggregation="share_under", limit="nan", target="0.9", direction="higher")),
    ("note", {"#note-title": "[/]", "#note-body": "[/red]", "#note-link": "1"}),  # the table, the link
]


@ui_fuzz(8)
@given(attempts=st.lists(ATTEMPTS, min_size=1, max_size=6))
@example(attempts=FOUND)
def test_every_form(attempts: list[Attempt], tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[None], app: StagetuiApp, state: Path) -> None:
        for kind, values in attempts:
            await FORMS[kind](pilot, app, state, values)

    _run(tmp_path, scenario)
