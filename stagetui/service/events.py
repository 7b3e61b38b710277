"""Events flowing up from the orchestrator to whoever listens: the CLI's progress bars, the TUI, the store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stagetui.domain.models import Environment, StepPhase, StepRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    environment_id: str
    environment_uid: str
    at: datetime


@dataclass(frozen=True)
class EnvironmentQueued(Event):
    """Accepted and waiting for a free provisioning slot."""

    steps: tuple[str, ...]


@dataclass(frozen=True)
class StepStarted(Event):
    step: str
    phase: StepPhase


@dataclass(frozen=True)
class StepProgress(Event):
    """Part of a long step is done. `fraction` is None when the step cannot tell how far it is."""

    step: str
    fraction: float | None
    message: str


@dataclass(frozen=True)
class StepFinished(Event):
    record: StepRecord


@dataclass(frozen=True)
class EnvironmentChanged(Event):
    """The environment's record changed (status, endpoint, measurements)."""

    environment: Environment


Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out. Emit only from the event loop's thread; workers go through the orchestrator."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                # A broken listener (e.g. a closed terminal) must not break provisioning.
                log.exception("event subscriber failed on %s", type(event).__name__)
