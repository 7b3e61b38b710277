"""Starting an environment's services in dependency order.

A service starts as soon as every service it depends on meets its condition (started, healthy, or
completed successfully); services whose dependencies are met start in parallel. A dependency that can no
longer meet its condition (it exited, or its healthcheck failed) fails the start at once, with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from stagetui.compose.model import ComposeProject, Dependency, ServiceSpec
from stagetui.runtimes.base import RuntimeOperationError

_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class ContainerState:
    status: str
    """created, running, exited, dead, ..."""
    health: str | None
    """starting, healthy, unhealthy; None without a healthcheck."""
    exit_code: int
    detail: str = ""
    """What went wrong, for messages: the last healthcheck output or the log's last lines."""

    @classmethod
    def from_inspect(cls, inspected: dict[str, object]) -> ContainerState:
        state = inspected.get("State") or {}
        assert isinstance(state, dict)
        health = state.get("Health") or {}
        assert isinstance(health, dict)
        log = health.get("Log") or []
        last = log[-1].get("Output", "") if isinstance(log, list) and log else ""
        return cls(
            str(state.get("Status", "")),
            str(health["Status"]) if health.get("Status") else None,
            int(state.get("ExitCode") or 0),
            str(last).strip(),
        )


def dependency_met(dependency: Dependency, state: ContainerState) -> bool:
    """True when `state` satisfies the condition; RuntimeOperationError when it never will."""
    name, condition = dependency.service, dependency.condition
    if condition == "service_completed_successfully":
        if state.status in {"exited", "dead"}:
            if state.exit_code != 0:
                raise RuntimeOperationError(f"service {name} exited with code {state.exit_code}")
            return True
        return False
    if state.status in {"exited", "dead"}:
        raise RuntimeOperationError(f"service {name} exited with code {state.exit_code} while starting")
    if condition == "service_started":
        return state.status in {"running", "restarting"}
    if state.health == "unhealthy":
        detail = f": {state.detail}" if state.detail else ""
        raise RuntimeOperationError(f"service {name} is unhealthy{detail}")
    return state.health == "healthy"


@dataclass
class StartReport:
    started: dict[str, str]
    """Service -> container id."""
    seconds: dict[str, float]
    """Service -> seconds from the start of the environment until it was started."""

    def summary(self) -> str:
        parts = ", ".join(
            f"{name} {at:.1f}s" for name, at in sorted(self.seconds.items(), key=lambda i: i[1])
        )
        return f"started {len(self.started)} service(s): {parts}"


def start_in_order(
    project: ComposeProject,
    launch: Callable[[str], str],
    inspect: Callable[[str], ContainerState],
    timeout: float,
    progress: Callable[[float, str], None] | None = None,
    parallel: int = 8,
) -> StartReport:
    """`launch(service)` creates and starts a service's container and returns its id; `inspect(id)` reads
    its state. Raises RuntimeOperationError naming the service that failed or did not get ready in time."""
    began = time.monotonic()
    deadline = began + timeout
    services = project.services
    launching: dict[str, Future[str]] = {}
    report = StartReport({}, {})
    with ThreadPoolExecutor(
        max_workers=max(1, min(parallel, len(services))), thread_name_prefix="start"
    ) as pool:
        while len(report.started) < len(services):
            for name, future in list(launching.items()):
                if future.done():
                    del launching[name]
                    report.started[name] = future.result()  # re-raises the launch's own error
                    report.seconds[name] = time.monotonic() - began
                    if progress:
                        progress(len(report.started) / len(services), f"started {name}")
            # Only services some not-yet-launched service waits on: once its dependents are launched, a
            # service's state decides nothing here (wait_healthy checks it next), and with many
            # environments starting at once every inspect is a call the busy engine has to answer.
            pending = set(services) - set(report.started) - set(launching)
            states = {
                name: inspect(cid) for name, cid in report.started.items() if _awaited(project, name, pending)
            }
            for name, spec in services.items():
                if name not in report.started and name not in launching and _ready(spec, states):
                    launching[name] = pool.submit(launch, name)
            if len(report.started) == len(services):
                break
            if time.monotonic() > deadline:
                waiting = sorted(set(services) - set(report.started))
                raise RuntimeOperationError(
                    f"services not ready within {timeout:.0f}s: {', '.join(waiting)} "
                    f"(waiting for {_blockers(project, waiting, states)})"
                )
            time.sleep(_POLL_SECONDS)
    return report


def _ready(spec: ServiceSpec, states: dict[str, ContainerState]) -> bool:
    """Every dependency is started and meets its condition (raises when one never will)."""
    return all(d.service in states and dependency_met(d, states[d.service]) for d in spec.depends_on)


def _awaited(project: ComposeProject, name: str, pending: set[str]) -> bool:
    """Whether some service still to be launched waits on `name` (only those need their state read)."""
    return any(d.service == name for other in pending for d in project.services[other].depends_on)


def _blockers(project: ComposeProject, waiting: list[str], states: dict[str, ContainerState]) -> str:
    blockers = []
    for name in waiting:
        for dependency in project.services[name].depends_on:
            state = states.get(dependency.service)
            if state is not None and not _safe_met(dependency, state):
                health = f", health {state.health}" if state.health else ""
                detail = f": {state.detail}" if state.detail else ""
                blockers.append(
                    f"{dependency.service} to be {dependency.condition.removeprefix('service_')}"
                    f" (now {state.status}{health}{detail})"
                )
    return "; ".join(sorted(set(blockers))) or "their containers to start"


def _safe_met(dependency: Dependency, state: ContainerState) -> bool:
    try:
        return dependency_met(dependency, state)
    except RuntimeOperationError:
        return False
