"""The swarm runtime: an environment is the services of a compose file, as Swarm services on a cluster,
on its own attachable overlay network, every service, network and config labelled with the environment.

The manager is the only engine stagetui talks to: it places tasks on the nodes, hands them their configs,
and is asked for everything by label. The workspace is still a local directory where strategies write; its
data and config travel to the nodes as Swarm configs (payloads.py).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors

from stagetui.compose.model import ComposeProject
from stagetui.config.swarm import SwarmRuntimeConfig
from stagetui.domain.models import Environment
from stagetui.domain.nodes import NodeCapacity
from stagetui.domain.service_status import ServiceStatus
from stagetui.runtimes.base import (
    DiscoveredEnvironment,
    EnvironmentExistsError,
    Progress,
    Runtime,
    RuntimeOperationError,
    Workspace,
    environment_labels,
)
from stagetui.runtimes.docker.engine import EngineConnection, EngineUnavailableError, engine_errors
from stagetui.runtimes.health import probe_health
from stagetui.runtimes.log_streams import follow_streams, merge_tails
from stagetui.runtimes.swarm.capacity import node_capacity
from stagetui.runtimes.swarm.changes import roll_config, scale_service, unchanged
from stagetui.runtimes.swarm.definition import load_swarm_project
from stagetui.runtimes.swarm.endpoint import endpoint_of
from stagetui.runtimes.swarm.inventory import (
    ServiceEntry,
    SwarmInventory,
    list_inventory,
    list_services,
    list_tasks,
)
from stagetui.runtimes.swarm.logs import follow_service_log
from stagetui.runtimes.swarm.rollout import Rollout, engine_now
from stagetui.runtimes.swarm.stack import Stack
from stagetui.runtimes.workspaces import (
    create_workspace_directory,
    record_start,
    start_summary,
    workspace_labels,
    workspace_under,
    write_labels,
)

PLUMBING = frozenset({"STAGETUI_ENV_ID"})
TASKS_GONE_TIMEOUT = 60.0
"""How long teardown waits for the nodes to stop and remove an environment's tasks (Swarm takes a few
seconds after a service is removed) before it removes the networks and configs they used."""


class SwarmRuntime(Runtime):
    name = "swarm"
    cluster = True

    def __init__(
        self,
        root: Path,
        settings: SwarmRuntimeConfig,
        environ: Mapping[str, str],
        fallback_compose: Path | None = None,
        client_factory: Callable[[], docker.DockerClient] | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self.environ = dict(environ)
        self._compose = settings.compose or fallback_compose
        self._engine = EngineConnection(
            settings.host, environ, settings.api_timeout.total_seconds(), client_factory
        )
        self._project: ComposeProject | None = None

    # -- wiring ------------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self._engine.address

    def client(self) -> docker.DockerClient:
        return self._engine.client()

    def project(self) -> ComposeProject:
        if self._project is None:
            self._project = load_swarm_project(self._compose, self.environ)
        return self._project

    def workspace(self, environment_id: str) -> Workspace:
        return workspace_under(self.root, environment_id, self._services_data_dir())

    def _services_data_dir(self) -> Path | None:
        try:
            project = self.project()
        except RuntimeOperationError:
            return None
        return Path(project.data_target) if project.data_target else None

    def _manager(self) -> docker.DockerClient:
        """The client, once the engine is known to manage a swarm."""
        client = self.client()
        with engine_errors(f"Swarm manager at {self.address}"):
            swarm = client.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise RuntimeOperationError(
                f"the engine at {self.address} is not a Swarm manager (its swarm state is "
                f"{swarm.get('LocalNodeState') or 'unknown'}): point runtimes.swarm.host at a manager, or "
                "make one with `docker swarm init`"
            )
        return client

    # -- lifecycle ---------------------------------------------------------------------------------------

    def create_workspace(self, env: Environment) -> Workspace:
        self.project()
        client = self._manager()
        with engine_errors(f"checking {env.id} on {self.address}"):
            left = list_inventory(client, env.id)
        if left.names():
            raise EnvironmentExistsError(
                f"{env.id} already has resources on the swarm ({', '.join(left.names()[:3])}): "
                f"tear it down first (stagetui down {env.id}, or stagetui gc)"
            )
        return create_workspace_directory(self.workspace(env.id), env)

    def start_services(
        self, env: Environment, workspace: Workspace, timeout: float, progress: Progress | None = None
    ) -> str:
        project, client = self.project(), self._manager()
        report = progress or (lambda _fraction, _message: None)
        rollout = Rollout(client, env.id, time.monotonic() + timeout)
        stack = Stack(client, project, self.settings, self.address, env, workspace)
        stack.create_networks()
        config_ids = stack.create_configs()
        report(0.2, f"network and {len(config_ids)} config(s) ready")
        started: dict[str, float] = {}
        begun = time.monotonic()
        levels = project.start_levels
        for number, level in enumerate(levels):
            since = engine_now(client)
            for service in level:
                request = stack.request(project.services[service], config_ids)
                with engine_errors(f"service {service} of {env.id}"):
                    client.api.create_service(
                        request.task_template,
                        name=request.name,
                        labels=request.labels,
                        mode=request.mode,
                        update_config=request.update_config,
                        endpoint_spec=request.endpoint_spec,
                    )
                started[service] = round(time.monotonic() - begun, 3)
            rollout.wait_ready(set(level), since)
            report(0.2 + 0.8 * (number + 1) / len(levels), f"{', '.join(level)} running")
        record_start(workspace, started)
        return self._endpoint(client, env.id)

    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        project, client = self.project(), self.client()
        deadline = time.monotonic() + timeout
        Rollout(client, env.id, deadline).wait_ready(None, engine_now(client))
        path = project.stagetui.endpoint.health_path
        remaining = max(1.0, deadline - time.monotonic())
        detail = probe_health(env.id, endpoint + path, remaining, lambda: self.is_running(env.id))
        return f"{len(project.services)} service(s) running every replica; {detail}"

    def relabel(self, env: Environment) -> None:
        """Service labels can change without touching tasks; networks and configs keep the old ones, and
        discovery reads the services' first."""
        labels = environment_labels(env)
        client = self._manager()
        with engine_errors(f"relabelling {env.id}"):
            for service in list_services(client, env.id):
                spec = service.spec
                changed = {**unchanged(spec), "labels": {**(spec.get("Labels") or {}), **labels}}
                client.api.update_service(service.id, service.version, **changed)
        write_labels(self.workspace(env.id), labels)

    def is_running(self, environment_id: str) -> bool:
        try:
            with engine_errors(f"state of {environment_id}"):
                return list_inventory(self.client(), environment_id).running()
        except RuntimeOperationError:
            return False

    def destroy(self, environment_id: str) -> list[str]:
        workspace = self.workspace(environment_id)
        try:
            client = self.client()
        except EngineUnavailableError:
            if not workspace.root.exists():
                return []
            raise
        removed: list[str] = []
        with engine_errors(f"removing {environment_id} from {self.address}"):
            inventory = list_inventory(client, environment_id)
            for service in inventory.services:
                with contextlib.suppress(docker.errors.NotFound):  # a teammate's teardown, or gc
                    client.api.remove_service(service.id)
                removed.append(f"service {service.name}")
            self._wait_tasks_gone(client, environment_id)
            for name, _ in inventory.configs:
                client.api.remove_config(name)
                removed.append(f"config {name}")
            for name, _ in inventory.networks:
                client.api.remove_network(name)
                removed.append(f"network {name}")
        if workspace.root.exists():
            shutil.rmtree(workspace.root)
            removed.append(f"directory {workspace.root}")
        return removed

    def discover(self) -> list[DiscoveredEnvironment]:
        workspaces = workspace_labels(self.root)
        try:
            with engine_errors(f"listing environments on {self.address}"):
                inventories = list_inventory(self.client(), None).by_environment()
        except RuntimeOperationError:
            # No engine, or one that manages no swarm (a plain Docker host): with no workspace here, nothing
            # of ours is known to be there, and `ls` must not fail for those who never use a swarm.
            if not workspaces:
                return []
            raise
        found = []
        for environment_id in sorted(set(workspaces) | set(inventories)):
            inventory = inventories.get(environment_id, SwarmInventory())
            labels = inventory.labels() or workspaces.get(environment_id, {})
            resources = inventory.names()
            if environment_id in workspaces:
                resources.append(f"directory {self.root / environment_id}")
            found.append(DiscoveredEnvironment(environment_id, labels, inventory.running(), tuple(resources)))
        return found

    # -- changes to a running environment -----------------------------------------------------------------

    def scale(self, environment_id: str, service: str, replicas: int, timeout: float) -> str:
        client = self._manager()
        return scale_service(
            client, environment_id, self._service(client, environment_id, service), replicas, timeout
        )

    def update_config(self, env: Environment, workspace: Workspace, timeout: float) -> str:
        stack = Stack(self._manager(), self.project(), self.settings, self.address, env, workspace)
        return roll_config(stack, timeout)

    def current_endpoint(self, environment_id: str) -> str | None:
        try:
            return self._endpoint(self.client(), environment_id)
        except RuntimeOperationError:
            return None

    def nodes(self) -> list[NodeCapacity]:
        """The cluster's nodes, with the environments running tasks on each."""
        client = self._manager()
        with engine_errors(f"listing nodes of {self.address}"):
            services = list_services(client, None)
            limits = {s.id: _limits(s.spec) for s in services}
            return node_capacity(client.api.nodes(), list_tasks(client, None), limits)

    # -- visibility ----------------------------------------------------------------------------------------

    def log_tail(self, environment_id: str, lines: int = 20) -> list[str]:
        try:
            with engine_errors(f"logs of {environment_id}"):
                client = self.client()
                tails = [
                    (s.service, b"".join(_logs(client, s.id, tail=lines, timestamps=True)))
                    for s in list_services(client, environment_id)
                ]
        except RuntimeOperationError:
            return []
        return merge_tails(tails, lines)

    def follow_logs(
        self, environment_id: str, service: str | None, stop: Callable[[], bool]
    ) -> Iterator[str]:
        with engine_errors(f"logs of {environment_id}"):
            client = self.client()
            services = [s for s in list_services(client, environment_id) if service in {None, s.service}]
            streams = [(s.service, follow_service_log(client, s.id)) for s in services]
        yield from follow_streams(streams, stop)

    def service_status(self, environment_id: str) -> list[ServiceStatus]:
        try:
            with engine_errors(f"services of {environment_id}"):
                inventory = list_inventory(self.client(), environment_id)
        except RuntimeOperationError:
            return []
        statuses = []
        for entry in inventory.services:
            tasks = [t for t in inventory.tasks if t.service_id == entry.id]
            running = [t for t in tasks if t.running]
            ports = sorted({f"{p}->{t}/tcp" for task in running for t, p in task.published})
            memory = _limits(entry.spec)[1]
            statuses.append(
                ServiceStatus(
                    name=entry.service,
                    state=f"running {len(running)}/{entry.replicas}",
                    health="healthy" if len(running) >= entry.replicas else "starting",
                    memory_limit_bytes=memory or None,
                    restarts=sum(1 for t in tasks if t.state in {"failed", "rejected"}),
                    ports=tuple(ports),
                    image=str(entry.spec["TaskTemplate"]["ContainerSpec"].get("Image", "")).split("@")[0],
                )
            )
        return statuses

    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        try:
            service = self.project().config_service
            with engine_errors(f"services of {environment_id}"):
                inventory = list_inventory(self.client(), environment_id)
        except RuntimeOperationError:
            return None
        entry = next((s for s in inventory.services if s.service == service), None)
        if entry is None or not any(t.running and t.service_id == entry.id for t in inventory.tasks):
            return None
        variables = entry.spec["TaskTemplate"]["ContainerSpec"].get("Env") or []
        pairs = dict(item.partition("=")[::2] for item in variables)
        return {k: v for k, v in pairs.items() if k not in PLUMBING}

    def start_summary(self, workspace: Workspace) -> str:
        return start_summary(workspace, "created")

    # -- helpers ---------------------------------------------------------------------------------------------

    def _service(self, client: docker.DockerClient, environment_id: str, service: str) -> ServiceEntry:
        with engine_errors(f"services of {environment_id}"):
            services = list_services(client, environment_id)
        for entry in services:
            if entry.service == service:
                return entry
        known = ", ".join(s.service for s in services) or "none"
        raise RuntimeOperationError(f"{environment_id} has no service {service!r} (its services: {known})")

    def _endpoint(self, client: docker.DockerClient, environment_id: str) -> str:
        endpoint = self.project().stagetui.endpoint
        entry = self._service(client, environment_id, endpoint.service)
        with engine_errors(f"the endpoint of {environment_id}"):
            return endpoint_of(client, environment_id, entry, endpoint.port, self.address)

    def _wait_tasks_gone(self, client: docker.DockerClient, environment_id: str) -> None:
        deadline = time.monotonic() + TASKS_GONE_TIMEOUT
        while list_tasks(client, environment_id):
            if time.monotonic() > deadline:
                raise RuntimeOperationError(
                    f"{environment_id}: its tasks were not gone from the nodes within "
                    f"{TASKS_GONE_TIMEOUT:.0f}s; gc retries"
                )
            time.sleep(0.25)


def _limits(spec: Mapping[str, Any]) -> tuple[float, int]:
    limits = ((spec.get("TaskTemplate") or {}).get("Resources") or {}).get("Limits") or {}
    return int(limits.get("NanoCPUs", 0)) / 1e9, int(limits.get("MemoryBytes", 0))


def _logs(client: docker.DockerClient, service_id: str, **options: Any) -> Iterator[bytes]:
    stream: Iterator[bytes] = client.api.service_logs(service_id, stdout=True, stderr=True, **options)
    return stream
