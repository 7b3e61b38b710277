"""What a running step can use: progress reporting, blocking work in threads, rollback registration.

The orchestrator owns one StepContext per environment run. Steps run concurrently when the plan allows it, so
the name of the step that reports progress travels in a context variable, which asyncio tasks and the worker
threads started through `blocking()` both inherit.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

current_step: contextvars.ContextVar[str] = contextvars.ContextVar("current_step", default="")

ProgressSink = Callable[[str, float | None, str], None]
"""(step, fraction or None, message); must be callable from any thread."""


class StepCancelled(Exception):
    """Raised inside blocking work once the run is cancelled or failed elsewhere, so threads stop early."""


class RollbackStack:
    """Undo actions registered by steps as they create things; run last-in first-out on failure."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], object]]] = []
        self._lock = threading.Lock()

    def push(self, description: str, undo: Callable[[], object]) -> None:
        with self._lock:
            self._actions.append((description, undo))

    def drain(self) -> list[tuple[str, Callable[[], object]]]:
        """Return the actions newest first and forget them."""
        with self._lock:
            actions, self._actions = list(reversed(self._actions)), []
        return actions

    def __len__(self) -> int:
        return len(self._actions)


def _ignore_progress(step: str, fraction: float | None, message: str) -> None:
    return None


@dataclass
class StepContext:
    progress_sink: ProgressSink = _ignore_progress
    rollback: RollbackStack = field(default_factory=RollbackStack)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def progress(self, fraction: float | None, message: str = "") -> None:
        """Report progress of the current step; raises StepCancelled once the run is being abandoned."""
        if self.cancelled.is_set():
            raise StepCancelled("the run was cancelled")
        self.progress_sink(current_step.get(), fraction, message)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise StepCancelled("the run was cancelled")

    async def blocking(self, function: Callable[..., T], *args: object) -> T:
        """Run blocking work in a thread. On cancellation, wait for the thread to stop before rolling back,
        so an undo action never races with the work it undoes."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        future = loop.run_in_executor(None, context.run, function, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self.cancelled.set()
            with contextlib.suppress(BaseException):
                await future
            raise
