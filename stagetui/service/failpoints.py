"""Failpoints: deliberate faults at named steps, set through STAGETUI_FAILPOINTS, so tests (and anyone
doubting the rollback) can make any step fail on a real run. Comma-separated entries:

    STEP         fail before the step runs
    STEP:after   fail right after the step succeeded (its own resources must be rolled back too)
    STEP:hang    block in the step until cancelled (to kill -9 a run at a known point)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

ACTIONS = ("before", "after", "hang")


class InjectedFault(RuntimeError):
    """Raised by a failpoint."""


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
        if action == "hang":
            await asyncio.Event().wait()

    def after(self, step: str) -> None:
        if self.actions.get(step) == "after":
            raise InjectedFault(f"failpoint {step!r}:after triggered")
