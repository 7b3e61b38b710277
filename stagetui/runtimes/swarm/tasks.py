"""Swarm tasks as stagetui reads them, and when a service counts as ready. Pure: tested without an engine.

A task whose container has a healthcheck stays "starting" until the check passes, so "running" already
means healthy; a task that fails its check is replaced. A service is ready when as many tasks run as it
wants replicas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stagetui.runtimes.swarm import naming

GIVE_UP_AFTER_FAILURES = 3
"""Failed tasks of one service (its replacements failing too) after which waiting stops: a service that
crashes or fails its healthcheck three times in a row will not come up by waiting longer."""
HOPELESS = ("No such image", "invalid mount config", "executable file not found")
"""Task errors no retry can fix."""


@dataclass(frozen=True)
class TaskEntry:
    id: str
    service_id: str
    service: str
    """The compose name (from the container labels)."""
    environment_id: str
    node_id: str
    state: str
    """new, pending, assigned, preparing, starting, running, complete, failed, rejected, shutdown, ..."""
    desired_state: str
    error: str
    message: str
    published: tuple[tuple[int, int], ...]
    """(target port, published port) of the task's host-mode ports."""
    updated_at: str

    @property
    def running(self) -> bool:
        return self.state == "running" and self.desired_state == "running"


def task_entry(raw: Mapping[str, Any]) -> TaskEntry:
    status = raw.get("Status") or {}
    labels = ((raw.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
    ports = (status.get("PortStatus") or {}).get("Ports") or []
    published = sorted(
        {(int(p["TargetPort"]), int(p["PublishedPort"])) for p in ports if p.get("PublishedPort")}
    )
    return TaskEntry(
        id=str(raw.get("ID", "")),
        service_id=str(raw.get("ServiceID", "")),
        service=str(labels.get(naming.SERVICE_LABEL, "")),
        environment_id=str(labels.get(naming.ENV_LABEL, "")),
        node_id=str(raw.get("NodeID") or ""),
        state=str(status.get("State", "")),
        desired_state=str(raw.get("DesiredState", "")),
        error=str(status.get("Err") or ""),
        message=str(status.get("Message") or ""),
        published=tuple(published),
        updated_at=str(raw.get("UpdatedAt", "")),
    )


@dataclass(frozen=True)
class ServiceProgress:
    service: str
    wanted: int
    running: int
    failed: int
    last_error: str

    @property
    def ready(self) -> bool:
        return self.running >= self.wanted

    def describe(self) -> str:
        text = f"{self.service} {self.running}/{self.wanted} running"
        if self.failed:
            text += f", {self.failed} failed"
        return text + (f" ({self.last_error})" if self.last_error else "")


_FRACTION = re.compile(r"\.(\d+)")


def engine_time(text: str) -> datetime | None:
    """An engine timestamp (RFC 3339 with up to nanoseconds, trailing zeros trimmed, in UTC or the
    daemon's zone) as an aware datetime; None when there is none."""
    if not text:
        return None
    # fromisoformat takes at most microseconds.
    trimmed = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.replace("Z", "+00:00"), 1)
    try:
        moment = datetime.fromisoformat(trimmed)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def progress_of(service: str, wanted: int, tasks: Iterable[TaskEntry], since: str = "") -> ServiceProgress:
    """How far `service` is; failures count from `since` (the engine's time a wait began) on."""
    start = engine_time(since)

    def recent(task: TaskEntry) -> bool:
        updated = engine_time(task.updated_at)
        return start is None or (updated is not None and updated >= start)

    ordered = sorted(tasks, key=lambda t: engine_time(t.updated_at) or datetime.min.replace(tzinfo=UTC))
    running = sum(1 for t in ordered if t.running)
    failed = [t for t in ordered if t.state in {"failed", "rejected"} and recent(t)]
    waiting = [t for t in ordered if t.desired_state == "running" and not t.running]
    error = ""
    if running < wanted:
        # A real error (Swarm's Err) wins over a routine status message ("preparing") of a replacement.
        errors = [t.error for t in failed + waiting if t.error]
        messages = [t.message for t in waiting if t.message]
        error = (errors or messages or [""])[-1]
    return ServiceProgress(service, wanted, running, len(failed), error)


def hopeless(progress: ServiceProgress) -> bool:
    """True when waiting longer cannot make the service ready."""
    if progress.ready:
        return False
    return progress.failed >= GIVE_UP_AFTER_FAILURES or any(
        marker in progress.last_error for marker in HOPELESS
    )
