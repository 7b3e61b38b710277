"""The stagetui terminal app: wiring only. Screens show, the service works, the engine loop runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import partial

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from stagetui.config.keymap import BINDINGS as BINDING_SPECS
from stagetui.domain.durations import format_duration
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.events import Event
from stagetui.ui.engine import EngineLoop
from stagetui.ui.messages import (
    GarbageCollectionRequested,
    LaunchRequested,
    ServiceEvent,
    SnapshotRefreshRequested,
    TeardownRequested,
)
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.dashboard import DashboardScreen
from stagetui.ui.screens.help import HelpScreen
from stagetui.ui.themes import THEMES_DIR, available_theme_names, our_themes

PALETTE_ACTIONS = [s for s in BINDING_SPECS if s.scope == "dashboard"]


class StagetuiApp(App[None]):
    TITLE = "stagetui"
    CSS_PATH = THEMES_DIR / "stagetui.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding(s.key, s.action, s.description, show=s.show, tooltip=s.tooltip, id=s.id)
        for s in BINDING_SPECS
        if s.scope == "app"
    ]

    def __init__(self, backend: StagetuiService) -> None:
        super().__init__()
        self.backend = backend
        self.engine = EngineLoop()
        self.dashboard = DashboardScreen(backend)
        self._unsubscribe = backend.events.subscribe(self._relay)
        self.quitting = False
        """Set once the user has decided to quit: from then on input is ignored."""
        self._asking_to_quit = False
        """The quit question is on screen: a second q does not ask again."""
        for theme in our_themes():
            self.register_theme(theme)
        self.theme = backend.config.ui.theme

    def on_mount(self) -> None:
        self.set_keymap(dict(self.backend.config.ui.keymap))
        self.push_screen(self.dashboard)

    def on_unmount(self) -> None:
        self._unsubscribe()
        self.engine.shutdown()

    # --- events from the engine thread --------------------------------------------------------------
    def _relay(self, event: Event) -> None:
        """Called on the engine thread: hop onto the UI loop (post_message is thread-safe)."""
        self.post_message(ServiceEvent(event))

    def on_service_event(self, message: ServiceEvent) -> None:
        for screen in self.screen_stack:
            screen.post_message(ServiceEvent(message.event))

    # --- work on the engine loop --------------------------------------------------------------------
    @work(group="engine", exit_on_error=False)
    async def on_launch_requested(self, message: LaunchRequested) -> None:
        request = message.request
        try:
            result = await asyncio.wrap_future(self.engine.submit(self.backend.up(request)))
        except ServiceError as error:
            self.notify(str(error), title=f"not launched: {request.branch}", severity="error", timeout=10)
            return
        env = result.environment
        if result.claimed:
            took = format_duration(env.claim_seconds)
            self.notify(f"{env.id} claimed in {took}\n{env.endpoint}", title="from the warm pool", timeout=4)
            self.engine.submit(self.backend.fill_pool())  # refill behind the claim, on the engine loop
        elif result.ok:
            took = format_duration(env.provision_seconds)
            self.notify(f"{env.id} ready in {took}\n{env.endpoint}", title="environment ready", timeout=4)
        else:
            self.notify(env.status_detail, title=f"{env.id} failed", severity="error", timeout=15)

    @work(group="engine", exit_on_error=False)
    async def on_teardown_requested(self, message: TeardownRequested) -> None:
        try:
            result = await asyncio.wrap_future(self.engine.submit(self.backend.down(message.uid)))
        except ServiceError as error:
            self.notify(str(error), title=f"{message.environment_id} not torn down", severity="error")
            return
        self.notify(f"{len(result.removed)} resource(s) removed", title=f"{message.environment_id} torn down")

    @work(group="engine", exit_on_error=False)
    async def on_snapshot_refresh_requested(self, message: SnapshotRefreshRequested) -> None:
        self.notify("building a golden snapshot …", timeout=3)
        try:
            coroutine = self.backend.refresh_snapshot(force=True)
            result = await asyncio.wrap_future(self.engine.submit(coroutine))
        except (ServiceError, OSError, RuntimeError) as error:
            self.notify(str(error), title="snapshot refresh failed", severity="error", timeout=15)
            return
        snapshot = result.snapshot
        self.notify(f"{snapshot.id} in {snapshot.build_seconds:.1f}s", title="golden snapshot built")

    @work(group="engine", exit_on_error=False)
    async def on_garbage_collection_requested(self, message: GarbageCollectionRequested) -> None:
        actions = await asyncio.wrap_future(self.engine.submit(self.backend.gc()))
        failed = [a for a in actions if a.error]
        text = ", ".join(f"{a.environment_id} ({a.reason})" for a in actions) or "nothing to collect"
        self.notify(text, title="garbage collected", severity="error" if failed else "information")
        self.dashboard.action_reload()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text, whatever `markup` says: messages carry branch, benchmark and
        experiment names and errors quoting what was typed, and as markup a stray `[/]` in them raised (the
        app crashed) and `[@click=...]` became a link that runs an action."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # --- app-wide actions ---------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(dict(self.backend.config.ui.keymap)))

    def action_next_theme(self) -> None:
        names = available_theme_names()
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.notify(f"theme: {self.theme}", timeout=2)

    async def action_quit(self) -> None:
        """Quitting mid-provisioning rolls back what is in flight: ask first, then wait for it."""
        if self.quitting or self._asking_to_quit:
            return
        if not self.engine.busy:
            self.quitting = True
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            self._asking_to_quit = False
            if yes:
                self.quitting = True
                self._roll_back_and_exit()

        self._asking_to_quit = True
        question = f"{self.engine.busy} operation(s) still running will be rolled back. Quit?"
        self.push_screen(ConfirmScreen(question, "Quit"), answered)

    @work(exclusive=True, group="quit", exit_on_error=False)
    async def _roll_back_and_exit(self) -> None:
        self.notify("rolling back what is in flight …", timeout=30)
        try:
            await asyncio.to_thread(self.engine.shutdown)
        finally:
            self.exit()  # input is ignored by now: whatever happened, the app must not stay open and deaf

    async def on_event(self, event: events.Event) -> None:
        # Once quitting is decided, typed-ahead input is dropped: a key must not open a screen on an app
        # that is closing (its widgets never mount) nor start work on an engine that is stopping.
        if self.quitting and isinstance(event, events.InputEvent | events.Paste):
            return
        await super().on_event(event)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for spec in PALETTE_ACTIONS:
            callback = partial(self.dashboard.run_action, spec.action)
            yield SystemCommand(spec.description if spec.show else spec.tooltip, spec.tooltip, callback)
        yield SystemCommand("Help", "Every key binding", self.action_help)
        yield SystemCommand("Next theme", "Switch to the next theme", self.action_next_theme)
