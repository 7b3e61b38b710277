"""What the provisioning panel shows: every in-flight environment's steps, fed by service events.
A pure state machine (events in, rows out) so the panel is testable without a terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stagetui.domain.models import EnvironmentStatus, StepOutcome, StepPhase
from stagetui.service.events import (
    EnvironmentChanged,
    EnvironmentQueued,
    Event,
    StepFinished,
    StepProgress,
    StepStarted,
)

LINGER = timedelta(seconds=8)
"""How long a finished run stays on the panel, so its outcome can be read."""


@dataclass
class StepState:
    name: str
    phase: StepPhase = StepPhase.PROVISION
    started: datetime | None = None
    seconds: float | None = None
    fraction: float | None = None
    message: str = ""
    outcome: StepOutcome | None = None

    def elapsed(self, now: datetime) -> float | None:
        if self.seconds is not None:
            return self.seconds
        return (now - self.started).total_seconds() if self.started else None


@dataclass
class Run:
    environment_id: str
    uid: str
    queued_at: datetime
    steps: dict[str, StepState] = field(default_factory=dict)
    status: EnvironmentStatus = EnvironmentStatus.PROVISIONING
    finished_at: datetime | None = None

    def slowest(self, now: datetime) -> str | None:
        timed = [
            (s.elapsed(now) or 0.0, s.name) for s in self.steps.values() if s.phase is StepPhase.PROVISION
        ]
        return max(timed)[1] if timed and max(timed)[0] > 0 else None

    def elapsed(self, now: datetime) -> float:
        return ((self.finished_at or now) - self.queued_at).total_seconds()


class ProvisioningTracker:
    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}

    def apply(self, event: Event) -> bool:
        """Update from one event; True if anything shown changed."""
        if isinstance(event, EnvironmentQueued):
            queued = Run(event.environment_id, event.environment_uid, event.at)
            queued.steps = {name: StepState(name) for name in event.steps}
            self.runs[event.environment_uid] = queued
            return True
        run = self.runs.get(event.environment_uid)
        if run is None:
            return False
        if isinstance(event, StepStarted):
            step = run.steps.setdefault(event.step, StepState(event.step, event.phase))
            step.phase, step.started = event.phase, event.at
        elif isinstance(event, StepProgress):
            step = run.steps.setdefault(event.step, StepState(event.step))
            step.fraction, step.message = event.fraction, event.message
        elif isinstance(event, StepFinished):
            record = event.record
            step = run.steps.setdefault(record.name, StepState(record.name, record.phase))
            step.started, step.seconds, step.outcome = record.started_at, record.seconds, record.outcome
            step.message = record.detail
        elif isinstance(event, EnvironmentChanged):
            status = event.environment.status
            if status is not EnvironmentStatus.PROVISIONING:
                run.status, run.finished_at = status, event.at
        else:
            return False
        return True

    def visible(self, now: datetime) -> list[Run]:
        """Runs in flight, and finished ones for a few seconds; drops older ones."""
        for uid in [u for u, r in self.runs.items() if r.finished_at and now - r.finished_at > LINGER]:
            del self.runs[uid]
        return sorted(self.runs.values(), key=lambda r: r.queued_at)

    @property
    def in_flight(self) -> int:
        return sum(1 for r in self.runs.values() if r.finished_at is None)
