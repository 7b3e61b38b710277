"""Driving the real app with hostile input, fast: key bursts and pastes posted as a terminal would send them,
a watch on every worker (stagetui's workers swallow their exceptions), and the store's files to compare.

Pilot's `press` waits for the app to go idle after every key (~80 ms); the fuzz tests post a burst of keys
at once, as a fast typist, a paste without bracketed paste or a held key does, and wait once after it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from textual import events
from textual.keys import _character_to_key, key_to_character
from textual.pilot import Pilot
from textual.worker import Worker, WorkerState

from stagetui.service.failpoints import Failpoints
from stagetui.ui.app import StagetuiApp
from tests.ui.seeded_cycle import seeded_cycle_service

FAILPOINTS = "prepare_production,destroy"
"""Launching and tearing down stop at their first step: the input paths run for real, nothing is provisioned
(the frozen runtime of the seeded store refuses to), and each takes a fraction of a second."""


def fuzz_app(state_dir: Path) -> StagetuiApp:
    """The seeded app of the improvement-cycle tests (environments with drift, benchmarks, an experiment, a
    note, two weeks of measurements), on a frozen clock, with the failpoints above."""
    service = seeded_cycle_service(state_dir)
    service.core.orchestrator.failpoints = Failpoints.parse(FAILPOINTS)
    return StagetuiApp(service)


class WorkerWatch:
    """Every worker of the app that ended with an exception. stagetui's workers run with exit_on_error=False
    (an error must not end the app), so without this a worker's crash would pass unseen: the user would get
    no answer and no error."""

    def __init__(self, app: StagetuiApp) -> None:
        self.failed: list[Worker[object]] = []
        manager = app.workers
        let_go = manager._remove_worker

        def remove(worker: Worker[object]) -> None:
            if worker.state is WorkerState.ERROR:
                self.failed.append(worker)
            let_go(worker)

        manager._remove_worker = remove  # type: ignore[method-assign]

    def errors(self) -> list[str]:
        return [f"{worker.name}: {worker.error!r}" for worker in self.failed]


def key_event(key: str) -> events.Key:
    """A key as the terminal driver reports it: a named key ("ctrl+d", "enter") or one typed character."""
    if len(key) == 1:
        return events.Key(_character_to_key(key), key)  # the driver's own naming of a typed character
    return events.Key(key, key_to_character(key))


async def settle(pilot: Pilot[None], app: StagetuiApp) -> None:
    """Until the keys are handled and the workers they started have finished, and what those posted too."""
    await pilot.pause()
    for _ in range(10):
        if all(worker.is_finished for worker in app.workers):
            return
        await app.workers.wait_for_complete()
        await pilot.pause()


def burst(app: StagetuiApp, keys: list[str]) -> None:
    """Send `keys` at once; the caller waits (a pause, or `settle`)."""
    for key in keys:
        app.post_message(key_event(key))


def paste(app: StagetuiApp, text: str) -> None:
    app.post_message(events.Paste(text))


def store_files(state_dir: Path) -> dict[str, str]:
    """Digest of every file of the store (the lock file aside): what "nothing was written" is checked on."""
    root = state_dir / "store"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "store.lock"
    }
