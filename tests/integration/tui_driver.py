"""The real TUI as a process of its own, driven by Pilot: launch environments, write notes, tear them down.

tests/integration/test_concurrency.py starts it next to CLI processes, so the app's engine thread, its
worker threads and the CLIs all write one store at once. Run as
`python -m tests.integration.tui_driver PLAN.json` from the repository root. The plan says what to do:

    {"config": ..., "ready": FILE, "go": FILE, "out": FILE, "strategy": "containerized",
     "race": BRANCH, "rounds": [{"launch": [BRANCH, ...], "note": TITLE, "keep": [BRANCH, ...]}, ...]}

It creates `ready` once the dashboard is up, waits for `go`, launches `race` (contended by CLIs), then per
round launches every branch back to back (several runs in flight in one app), saves a note from the notes
screen, and tears down every launched branch not in `keep` with ctrl+d. What each operation ended as (as
the app showed it) goes to `out` as JSON, also when a step fails, so the test can check it against the store.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from stagetui.config import load_config
from stagetui.domain.ids import environment_id
from stagetui.domain.models import EnvironmentStatus, Strategy
from stagetui.service.api import StagetuiService
from stagetui.service.events import EnvironmentChanged, Event, StepFinished
from stagetui.ui.app import StagetuiApp
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.screens.launch import LaunchScreen
from stagetui.ui.screens.notes import NotesScreen

DEADLINE = 75.0
"""Catches a hang; it does not measure speed (the machine is shared and busy)."""
SIZE = (140, 50)


class Observed:
    """Service events as the app receives them (on the engine thread), by environment uid."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, list[str]] = {}
        self.ids: dict[str, str] = {}
        self.endpoints: dict[str, str | None] = {}
        self.steps: dict[str, list[list[str]]] = {}

    def __call__(self, event: Event) -> None:
        with self.lock:
            if isinstance(event, EnvironmentChanged):
                env = event.environment
                self.ids[env.uid] = env.id
                self.statuses.setdefault(env.uid, []).append(env.status.value)
                if env.status is EnvironmentStatus.READY:
                    self.endpoints[env.uid] = env.endpoint
            elif isinstance(event, StepFinished):
                record = event.record
                self.steps.setdefault(record.environment_uid, []).append(
                    [record.name, record.phase.value, record.outcome.value]
                )

    def uids_of(self, env_id: str) -> list[str]:
        with self.lock:
            return [uid for uid, seen in self.ids.items() if seen == env_id]

    def last_status(self, uid: str) -> str | None:
        with self.lock:
            seen = self.statuses.get(uid)
            return seen[-1] if seen else None


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the app did not get there in time: {what}")


def notifications(app: StagetuiApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


class Driver:
    def __init__(self, plan: dict[str, Any], app: StagetuiApp, pilot: Pilot[None], seen: Observed) -> None:
        self.plan, self.app, self.pilot, self.seen = plan, app, pilot, seen
        self.strategy = Strategy(plan["strategy"])
        self.ops: list[dict[str, Any]] = []

    async def launch(self, branch: str) -> dict[str, Any]:
        """Submit the launch dialog; the run goes on in the app's engine (returns before it ends)."""
        await self.pilot.press("n")
        screen = self.app.screen
        assert isinstance(screen, LaunchScreen), f"n opened {screen!r}"
        screen.query_one("#branch", Input).value = branch
        screen.query_one("#strategy").value = self.strategy.value  # type: ignore[attr-defined]
        await self.pilot.pause()
        await self.pilot.press("enter")
        await wait_until(self.pilot, lambda: not isinstance(self.app.screen, LaunchScreen), "launch dialog")
        op = {"op": "up", "branch": branch, "id": environment_id(branch, self.strategy)}
        self.ops.append(op)
        return op

    async def settle_launch(self, op: dict[str, Any]) -> None:
        """Wait for the run's end as the app tells it: a final status, or a 'not launched' notification."""
        refused = f"not launched: {op['branch']}"

        def ended() -> bool:
            if any(title == refused for title, _ in notifications(self.app)):
                return True
            return any(
                self.seen.last_status(uid) not in {None, EnvironmentStatus.PROVISIONING.value}
                for uid in self.seen.uids_of(op["id"])
            )

        await wait_until(self.pilot, ended, f"launch of {op['branch']}")
        messages = [message for title, message in notifications(self.app) if title == refused]
        if messages:
            op.update(outcome="refused", error=messages[0])
            return
        (uid,) = self.seen.uids_of(op["id"])
        status = self.seen.last_status(uid)
        op.update(uid=uid, outcome="ok" if status == "ready" else str(status))
        op["endpoint"] = self.seen.endpoints.get(uid)

    async def note(self, title: str) -> None:
        body = f"{title}: written from the TUI while CLIs provision\n"
        await self.pilot.press("N")
        await wait_until(self.pilot, lambda: isinstance(self.app.screen, NotesScreen), "notes screen")
        await self.pilot.pause()
        screen = self.app.screen
        screen.query_one("#note-title", Input).value = title
        screen.query_one("#note-body", TextArea).text = body
        await self.pilot.pause()
        await self.pilot.press("ctrl+s")
        saved, failed = f"saved: {title}", "(the draft is kept)"

        def answered() -> bool:
            return any(message == saved or failed in message for _, message in notifications(self.app))

        await wait_until(self.pilot, answered, f"note {title}")
        outcome = "ok" if any(message == saved for _, message in notifications(self.app)) else "failed"
        self.ops.append({"op": "note", "title": title, "body": body, "outcome": outcome})
        await self.pilot.press("escape")
        await wait_until(self.pilot, lambda: self.app.screen is self.app.dashboard, "back to the dashboard")

    async def tear_down(self, op: dict[str, Any]) -> None:
        uid = op["uid"]
        table = self.app.dashboard.table
        await wait_until(self.pilot, lambda: uid in table.views and uid in table.rows, f"row of {op['id']}")
        table.focus()
        table.move_cursor(row=table.get_row_index(uid))
        await self.pilot.pause()
        assert table.selected_uid == uid, "the row to tear down is not the selected one"
        await self.pilot.press("ctrl+d")
        screen = self.app.screen
        assert isinstance(screen, ConfirmScreen) and op["id"] in screen.question, f"ctrl+d opened {screen!r}"
        await self.pilot.press("y")
        refused = f"{op['id']} not torn down"
        await wait_until(
            self.pilot,
            lambda: (
                self.seen.last_status(uid) == EnvironmentStatus.TORN_DOWN.value
                or any(title == refused for title, _ in notifications(self.app))
            ),
            f"teardown of {op['id']}",
        )
        ok = self.seen.last_status(uid) == EnvironmentStatus.TORN_DOWN.value
        self.ops.append({"op": "down", "id": op["id"], "uid": uid, "outcome": "ok" if ok else "refused"})

    async def run(self) -> None:
        race = await self.launch(self.plan["race"])
        await self.settle_launch(race)
        for round_ in self.plan["rounds"]:
            launched = [await self.launch(branch) for branch in round_["launch"]]
            for op in launched:
                await self.settle_launch(op)
            await self.note(round_["note"])
            for op in launched:
                if op["outcome"] == "ok" and op["branch"] not in round_["keep"]:
                    await self.tear_down(op)


async def main(plan: dict[str, Any]) -> int:
    app = StagetuiApp(StagetuiService.open(load_config(Path(plan["config"]))))
    seen = Observed()
    app.backend.events.subscribe(seen)
    result: dict[str, Any] = {"ops": [], "error": None}
    try:
        async with app.run_test(size=SIZE) as pilot:
            driver = Driver(plan, app, pilot, seen)
            Path(plan["ready"]).touch()
            await wait_until(pilot, Path(plan["go"]).exists, "the go signal")
            try:
                await driver.run()
            finally:
                result["ops"] = driver.ops
            # A run's last event comes before its last store write: quit once the engine is idle, as a
            # user would after the table settled (quitting earlier asks, and rolls back what is in flight).
            await wait_until(pilot, lambda: not app.engine.busy, "the engine to finish")
            await pilot.press("q")
    except Exception:
        result["error"] = traceback.format_exc()
    result["steps"] = seen.steps
    Path(plan["out"]).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 1 if result["error"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))))
