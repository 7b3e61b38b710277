"""The records every layer talks about: environments, their steps and the checks made on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Strategy(StrEnum):
    """Where an environment's data and config come from."""

    FULL_CLONE = "full_clone"
    SNAPSHOT = "snapshot"
    CONTAINERIZED = "containerized"


class EnvironmentStatus(StrEnum):
    PROVISIONING = "provisioning"
    READY = "ready"
    DEGRADED = "degraded"
    """Provisioned, but the runtime no longer reports it healthy (e.g. its service died)."""
    FAILED = "failed"
    """Provisioning failed and was rolled back."""
    INTERRUPTED = "interrupted"
    """The process provisioning or tearing it down died; resources may be left for `gc`."""
    TEARING_DOWN = "tearing_down"
    TORN_DOWN = "torn_down"

    @property
    def is_live(self) -> bool:
        """True while resources may exist for it on a runtime."""
        return self not in {EnvironmentStatus.FAILED, EnvironmentStatus.TORN_DOWN}


class StepPhase(StrEnum):
    PROVISION = "provision"
    ROLLBACK = "rollback"
    TEARDOWN = "teardown"


class StepOutcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class StepRecord:
    """One executed step: what ran, when, for how long and how it ended."""

    environment_uid: str
    environment_id: str
    name: str
    phase: StepPhase
    started_at: datetime
    ended_at: datetime
    outcome: StepOutcome
    detail: str = ""

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class DriftSummary:
    """What the environment table shows of a drift report."""

    count: int
    worst: str | None
    approved: int
    checked_at: datetime


@dataclass
class Environment:
    """A test environment as the store remembers it; the runtime holds the truth about its resources."""

    uid: str
    """Unique forever: history stays apart when an id is reused after teardown."""
    id: str
    branch: str
    strategy: Strategy
    runtime: str
    owner: str
    created_at: datetime
    expires_at: datetime
    status: EnvironmentStatus
    status_detail: str = ""
    endpoint: str | None = None
    data_as_of: datetime | None = None
    data_source: str = ""
    max_data_age: timedelta | None = None
    drift: DriftSummary | None = None
    orphans: int | None = None
    provision_seconds: float | None = None
    data_bytes: int | None = None
    """Size of the environment's data, for storage cost."""
    database: str = ""
    """Where its data lives: a file, or a database on a server (never with a password)."""
    owner_pid: int | None = None
    """Pid of the process working on it while provisioning or tearing down (to detect interruptions)."""
    owner_host: str = ""
    updated_at: datetime | None = None
    experiment: str | None = None
    """The experiment it was provisioned under, if any: samples taken from it later (test results) belong
    to that experiment, whenever they are recorded."""
    labels: dict[str, str] = field(default_factory=dict)
    claim_seconds: float | None = None
    """Seconds it took to claim it from the warm pool; None when provisioned for its branch (a claimed
    environment's provision_seconds is how long the pool took to build it)."""
    hourly_cost: float | None = None
    """Estimated price per hour of its resources when the runtime can tell (AWS: instance class and
    storage from the price table); None: the price table by runtime and strategy applies."""

    def ttl_left(self, now: datetime) -> timedelta:
        return self.expires_at - now

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class MetricSample:
    """One measured number, tagged so benchmarks can slice by strategy, runtime, branch and step."""

    at: datetime
    metric: str
    value: float
    environment_uid: str
    environment_id: str
    strategy: Strategy
    runtime: str
    branch: str
    step: str | None = None
    experiment: str | None = None
    """Id of the experiment that was running (and in scope) when the sample was taken."""


@dataclass(frozen=True)
class CheckRecord:
    """A check made on an environment (drift, integrity, masking, freshness) with its full result."""

    environment_uid: str
    kind: str
    at: datetime
    ok: bool
    summary: str
    result: dict[str, object]


@dataclass(frozen=True)
class AuditEntry:
    """An append-only line of the audit trail: every data access and transformation."""

    at: datetime
    actor: str
    action: str
    target: str
    detail: str = ""
    environment_id: str | None = None
