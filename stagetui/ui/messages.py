"""Messages flowing up to the screens: service events, loaded data, finished actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from stagetui.domain.cost import BudgetStatus
from stagetui.service.cluster import ClusterNodes
from stagetui.service.events import Event, StepProgress
from stagetui.service.provisioning import UpRequest
from stagetui.service.queries import EnvironmentDetail, EnvironmentView


@dataclass
class ServiceEvent(Message, bubble=False):
    """An event of the service, relayed from the engine thread. The app hands a copy to every screen;
    it must not bubble back up, or it would loop."""

    event: Event

    def can_replace(self, message: Message) -> bool:
        # A flood of progress updates for one step collapses to the latest.
        if isinstance(self.event, StepProgress) and isinstance(message, ServiceEvent):
            other = message.event
            return (
                isinstance(other, StepProgress)
                and other.environment_uid == self.event.environment_uid
                and other.step == self.event.step
            )
        return False


@dataclass
class EnvironmentsLoaded(Message, bubble=False):
    """A fresh reconciliation of every live environment, and where spending stands."""

    views: list[EnvironmentView]
    budgets: list[BudgetStatus] = field(default_factory=list)


@dataclass
class DetailLoaded(Message, bubble=False):
    """One environment's detail (steps, checks, log tail), for the drift panel or the detail screen."""

    reference: str
    detail: EnvironmentDetail | None
    error: str = ""


@dataclass
class DriftHistoryLoaded(Message, bubble=False):
    """Unapproved drift counts of one environment, oldest first (for the sparkline)."""

    uid: str
    values: list[float]


@dataclass
class NodesLoaded(Message, bubble=False):
    """The nodes of every cluster runtime (each with its error when it did not answer), or why none could
    be asked."""

    clusters: list[ClusterNodes]
    error: str = ""


@dataclass
class LaunchRequested(Message):
    """Messages up: a screen asks the app to provision."""

    request: UpRequest


@dataclass
class TeardownRequested(Message):
    uid: str
    environment_id: str


class SnapshotRefreshRequested(Message):
    pass


class GarbageCollectionRequested(Message):
    pass


@dataclass
class LogLines(Message, bubble=False):
    """New lines of an environment's service log, from the thread that follows it."""

    reference: str
    lines: list[str]
