"""Failpoints: deliberate faults at named steps, set through STAGETUI_FAILPOINTS, so tests (and anyone
doubting the rollback) can make any step fail on a real run. Comma-separated entries:

    STEP              fail before the step runs
    STEP:after        fail right after the step succeeded (its own resources must be rolled back too)
    STEP:hang         block in the step until cancelled (to kill -9 a run at a known point)
    STEP:crash        kill -9 this process right before the step runs (nothing gets to clean up)
    STEP:crash-after  kill -9 this process right after the step succeeded, before its record is written

Besides the plans' steps, `rollback` names each undo of a rollback and `destroy` the removal of an
environment's resources by `down` and `gc`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field

ACTIONS = ("before", "after", "hang", "crash", "crash-after")


class InjectedFault(RuntimeError):
    """Raised by a failpoint."""


def _crash() -> None:
    # SIGKILL, not an exception or sys.exit: no finally block, atexit hook or rollback may run, exactly
    # as when the machine's OOM killer or an impatient `kill -9` ends the process.
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Failpoints:
    actions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Failpoints:
        actions: dict[str, str] = {}
        for entry in filter(None, (part.strip() for part in text.split(","))):
            step, _, action = entry.partition(":")
            action = action or "before"
            if action not in ACTIONS:
                raise ValueError(f"failpoint {entry!r}: action must be one of {', '.join(ACTIONS)}")
            actions[step] = action
        return cls(actions)

    async def before(self, step: str) -> None:
        action = self.actions.get(step)
        if action == "before":
            raise InjectedFault(f"failpoint {step!r} triggered")
        if action == "crash":
            _crash()
        if action == "hang":
            await asyncio.Event().wait()

    def before_sync(self, step: str) -> None:
        """`before` for code outside the event loop (a rollback's undo, a teardown in its thread)."""
        action = self.actions.get(step)
        if action == "before":
            raise InjectedFault(f"failpoint {step!r} triggered")
        if action == "crash":
            _crash()

    def after(self, step: str) -> None:
        action = self.actions.get(step)
        if action == "after":
            raise InjectedFault(f"failpoint {step!r}:after triggered")
        if action == "crash-after":
            _crash()
