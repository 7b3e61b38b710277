"""Waiting on the swarm: until services run every replica, and until a rolling update has finished."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import docker

from stagetui.runtimes.base import RuntimeOperationError
from stagetui.runtimes.docker.engine import engine_errors
from stagetui.runtimes.swarm.inventory import list_services, list_tasks
from stagetui.runtimes.swarm.tasks import ServiceProgress, engine_time, hopeless, progress_of

POLL = 0.25
UPDATE_FAILED = {"paused", "rollback_started", "rollback_paused", "rollback_completed"}


def engine_now(client: docker.DockerClient) -> str:
    """The engine's clock in the form of task timestamps: failures of a wait count from here on."""
    with engine_errors("reading the engine's clock"):
        return str(client.info().get("SystemTime", ""))


class Rollout:
    """Waits for one environment's services, all before one deadline."""

    def __init__(self, client: docker.DockerClient, environment_id: str, deadline: float) -> None:
        self.client = client
        self.environment_id = environment_id
        self.deadline = deadline

    def progress(self, services: set[str] | None, since: str) -> list[ServiceProgress]:
        with engine_errors(f"tasks of {self.environment_id}"):
            entries = list_services(self.client, self.environment_id)
            tasks = list_tasks(self.client, self.environment_id)
        return [
            progress_of(e.service, e.replicas, (t for t in tasks if t.service_id == e.id), since)
            for e in entries
            if services is None or e.service in services
        ]

    def wait_ready(self, services: set[str] | None, since: str) -> list[ServiceProgress]:
        """Until every one of `services` (None: all) runs as many tasks as it wants; RuntimeOperationError
        as soon as one cannot get there, or at the deadline, saying where each service stands."""
        while True:
            progress = self.progress(services, since)
            if progress and all(p.ready for p in progress):
                return progress
            stuck = [p for p in progress if hopeless(p)]
            if stuck:
                raise RuntimeOperationError(
                    f"{self.environment_id}: {'; '.join(p.describe() for p in stuck)}"
                )
            if time.monotonic() > self.deadline:
                waiting = [p.describe() for p in progress if not p.ready] or ["its services are gone"]
                raise RuntimeOperationError(
                    f"{self.environment_id}: not running in time: {'; '.join(waiting)}"
                )
            time.sleep(POLL)

    def wait_rolled(
        self, service_id: str, service: str, task_template: Mapping[str, Any], wanted: int, since: str
    ) -> None:
        """Until `wanted` tasks of the service run from `task_template` (its variables and configs) and no
        task of an older one is left. Swarm's own update status is no guide: it is cleared when an update
        is submitted and set only a moment later, so "no update under way" cannot tell "done" from "not
        begun". A failed update (paused, rolled back) since `since` ends the wait at once."""
        target = _fingerprint(task_template.get("ContainerSpec") or {})
        start = engine_time(since)
        while True:
            with engine_errors(f"updating {service} of {self.environment_id}"):
                status = self.client.api.inspect_service(service_id).get("UpdateStatus") or {}
                tasks = self.client.api.tasks(filters={"service": service_id, "desired-state": "running"})
            state, began = status.get("State"), engine_time(str(status.get("StartedAt", "")))
            if state in UPDATE_FAILED and began is not None and (start is None or began >= start):
                raise RuntimeOperationError(
                    f"{self.environment_id}: the rolling update of {service} {state.replace('_', ' ')}: "
                    f"{status.get('Message', '')}"
                )
            specs = [_fingerprint((t.get("Spec") or {}).get("ContainerSpec") or {}) for t in tasks]
            fresh = sum(
                1
                for t, spec in zip(tasks, specs, strict=True)
                if spec == target and t["Status"]["State"] == "running"
            )
            if fresh >= wanted and all(spec == target for spec in specs):
                return
            if time.monotonic() > self.deadline:
                raise RuntimeOperationError(
                    f"{self.environment_id}: the rolling update of {service} did not finish in time: "
                    f"{fresh}/{wanted} task(s) run the new config ({state or 'no update status'}: "
                    f"{status.get('Message', '')})"
                )
            time.sleep(POLL)


def _fingerprint(container: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a config rollout changes in a task: its variables and the configs it mounts."""
    variables = tuple(sorted(container.get("Env") or []))
    configs = tuple(sorted(str(c.get("ConfigName", "")) for c in container.get("Configs") or []))
    return variables, configs


def describe(progress: Iterable[ServiceProgress]) -> str:
    return "; ".join(p.describe() for p in progress)
