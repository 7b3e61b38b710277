"""The docker runtime: an environment is the services of a compose file, as containers on a Docker Engine,
with its own network and volumes, every resource labelled with the environment.

The workspace (data copy, rendered config) is still a directory here, where strategies write; on start its
data and config are copied into the environment's named volumes. The engine is the source of truth for
what runs: teardown, gc and discovery search it by label.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import docker
import docker.errors

from stagetui.compose.model import ComposeProject
from stagetui.compose.parse import ComposeError, load_compose
from stagetui.compose.sample import packaged_compose
from stagetui.config.model import DockerRuntimeConfig
from stagetui.domain.models import Environment
from stagetui.domain.service_status import ServiceStatus
from stagetui.runtimes.base import (
    DiscoveredEnvironment,
    EnvironmentExistsError,
    Progress,
    Runtime,
    RuntimeOperationError,
    Workspace,
    config_variables,
    environment_labels,
)
from stagetui.runtimes.docker import naming
from stagetui.runtimes.docker.containers import container_request, create_container
from stagetui.runtimes.docker.engine import EngineConnection, EngineUnavailableError, engine_errors
from stagetui.runtimes.docker.image_policy import ensure_images
from stagetui.runtimes.docker.inventory import ContainerEntry, Inventory, list_inventory
from stagetui.runtimes.docker.logs import follow_container_logs, merged_tail
from stagetui.runtimes.docker.seed_volumes import data_identity, remove_unused, seed_volume
from stagetui.runtimes.docker.startup import ContainerState, start_in_order
from stagetui.runtimes.docker.status import service_statuses
from stagetui.runtimes.docker.volumes import fill_volume
from stagetui.runtimes.health import probe_health
from stagetui.runtimes.workspaces import (
    create_workspace_directory,
    record_start,
    start_summary,
    workspace_labels,
    workspace_under,
    write_labels,
)

PLUMBING = frozenset({"STAGETUI_ENV_ID"})
"""Variables the runtime sets in the config service for itself (left out of live drift)."""


def _up(container: ContainerEntry) -> bool:
    """Running, or a one-shot job that finished well."""
    return container.state == "running" or (container.state == "exited" and container.exit_code == 0)


class DockerRuntime(Runtime):
    name = "docker"

    def __init__(
        self,
        root: Path,
        settings: DockerRuntimeConfig,
        environ: Mapping[str, str],
        client_factory: Callable[[], docker.DockerClient] | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self.environ = dict(environ)
        self._engine = EngineConnection(
            settings.host, environ, settings.api_timeout.total_seconds(), client_factory
        )
        self._project: ComposeProject | None = None

    # -- wiring ------------------------------------------------------------------------------------------

    @property
    def _locks(self) -> Path:
        return self.root / ".locks"

    @property
    def address(self) -> str:
        return self._engine.address

    def client(self) -> docker.DockerClient:
        return self._engine.client()

    def project(self) -> ComposeProject:
        """The environment definition; RuntimeOperationError (naming file, line and key) when it is bad."""
        if self._project is None:
            path = self.settings.compose or packaged_compose()
            try:
                project = load_compose(path, self.environ)
            except ComposeError as error:
                raise RuntimeOperationError(str(error)) from None
            for spec in project.services.values():
                if spec.deploy.replicas != 1:
                    raise RuntimeOperationError(
                        f"{path}: services.{spec.name}.deploy.replicas is {spec.deploy.replicas}: one Docker "
                        "host runs each service once; replicas need an orchestrator"
                    )
            self._project = project
        return self._project

    def workspace(self, environment_id: str) -> Workspace:
        return workspace_under(self.root, environment_id, self._services_data_dir())

    def _services_data_dir(self) -> Path | None:
        """Where the config service mounts the data volume (its database path inside the container)."""
        try:
            project = self.project()
        except RuntimeOperationError:
            return None
        return Path(project.data_target) if project.data_target else None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def create_workspace(self, env: Environment) -> Workspace:
        self.project()  # a bad definition fails here, before anything exists
        with engine_errors(f"checking {env.id} on {self.address}"):
            left = list_inventory(self.client(), env.id)
        if left.names():
            raise EnvironmentExistsError(
                f"{env.id} already has resources on the Docker engine ({', '.join(left.names()[:3])}): "
                f"tear it down first (stagetui down {env.id}, or stagetui gc)"
            )
        return create_workspace_directory(self.workspace(env.id), env)

    def start_services(
        self, env: Environment, workspace: Workspace, timeout: float, progress: Progress | None = None
    ) -> str:
        project, client, labels = self.project(), self.client(), environment_labels(env)
        report = progress or (lambda _fraction, _message: None)
        deadline = time.monotonic() + timeout
        with engine_errors(f"images of {env.id}"):
            ensure_images(client, project, self.settings.pull, lambda f, m: report(0.3 * f, m))
        with engine_errors(f"networks and volumes of {env.id}"):
            self._create_networks(client, env.id, project, labels)
            shared = self._create_volumes(client, env.id, project, labels, workspace)
        report(0.35, "networks and volumes ready")
        extra = {**config_variables(workspace.config_file), "STAGETUI_ENV_ID": env.id}
        stop_timeout = self.settings.stop_timeout.total_seconds()

        def launch(service: str) -> str:
            request = container_request(
                project,
                project.services[service],
                env.id,
                labels,
                extra if service == project.config_service else {},
                stop_timeout,
                shared,
            )
            with engine_errors(f"service {service} of {env.id}"):
                container_id = create_container(client, request)
                client.api.start(container_id)
            return container_id

        def inspect(container_id: str) -> ContainerState:
            with engine_errors(f"inspecting a container of {env.id}"):
                return ContainerState.from_inspect(client.api.inspect_container(container_id))

        started = start_in_order(
            project,
            launch,
            inspect,
            max(1.0, deadline - time.monotonic()),
            lambda f, m: report(0.35 + 0.65 * f, m),
        )
        record_start(workspace, started.seconds)
        return self._endpoint(client, env.id, project)

    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        project, client = self.project(), self.client()
        deadline = time.monotonic() + timeout
        with engine_errors(f"health of {env.id}"):
            while True:
                waiting = self._not_healthy(client, env.id)
                if not waiting:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeOperationError(
                        f"{env.id}: healthchecks not passing within {timeout:.0f}s: {'; '.join(waiting)}"
                    )
                time.sleep(0.2)
        path = project.stagetui.endpoint.health_path
        remaining = max(1.0, deadline - time.monotonic())
        detail = probe_health(env.id, endpoint + path, remaining, lambda: self.is_running(env.id))
        return f"{len(project.services)} service(s) healthy; {detail}"

    def relabel(self, env: Environment) -> None:
        """Labels of containers cannot change: a small volume carries the new ones, and discovery reads
        them over the originals."""
        labels = {**environment_labels(env), naming.ROLE_LABEL: "claim"}
        with engine_errors(f"relabelling {env.id}"):
            self.client().api.create_volume(naming.volume_name(env.id, "claim"), labels=labels)
        write_labels(self.workspace(env.id), labels)

    def is_running(self, environment_id: str) -> bool:
        try:
            with engine_errors(f"state of {environment_id}"):
                containers = list_inventory(self.client(), environment_id).services
        except RuntimeOperationError:
            return False
        return bool(containers) and all(_up(c) for c in containers)

    def destroy(self, environment_id: str) -> list[str]:
        workspace = self.workspace(environment_id)
        removed: list[str] = []
        try:
            client = self.client()
        except EngineUnavailableError:
            # The workspace is made before anything on the engine: without it, this installation created
            # nothing there. With it, the containers may still be there: the teardown fails, the record
            # stays, and gc retries once the engine answers.
            if not workspace.root.exists():
                return []
            raise

        def remove(container: ContainerEntry) -> None:
            # A stop first gives the service its grace period (its stop_timeout, short by default); the
            # init process forwards SIGTERM, so most stop at once.
            with contextlib.suppress(docker.errors.APIError):
                client.api.stop(container.id)
            client.api.remove_container(container.id, force=True, v=True)

        with engine_errors(f"removing {environment_id} from {self.address}"):
            inventory = list_inventory(client, environment_id)
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="remove") as pool:
                list(pool.map(remove, inventory.containers))
            removed += [f"container {c.name}" for c in inventory.containers]
            for network in inventory.networks:
                client.api.remove_network(network)
                removed.append(f"network {network}")
            for volume in inventory.volumes:
                client.api.remove_volume(volume, force=True)
                removed.append(f"volume {volume}")
        if workspace.root.exists():
            shutil.rmtree(workspace.root)
            removed.append(f"directory {workspace.root}")
        return removed

    def discover(self) -> list[DiscoveredEnvironment]:
        workspaces = workspace_labels(self.root)
        try:
            with engine_errors(f"listing environments on {self.address}"):
                inventories = list_inventory(self.client(), None).by_environment()
        except EngineUnavailableError:
            if not workspaces:
                return []  # nothing of ours is known to be there: no docker in use, nothing to report
            raise
        found = []
        for environment_id in sorted(set(workspaces) | set(inventories)):
            inventory = inventories.get(environment_id, Inventory())
            labels = inventory.labels() or workspaces.get(environment_id, {})
            resources_ = inventory.names()
            if environment_id in workspaces:
                resources_.append(f"directory {self.root / environment_id}")
            running = bool(inventory.services) and all(_up(c) for c in inventory.services)
            found.append(DiscoveredEnvironment(environment_id, labels, running, tuple(resources_)))
        return found

    # -- visibility ----------------------------------------------------------------------------------------

    def log_tail(self, environment_id: str, lines: int = 20) -> list[str]:
        try:
            with engine_errors(f"logs of {environment_id}"):
                inventory = list_inventory(self.client(), environment_id)
                return merged_tail(self.client(), inventory.services, lines)
        except RuntimeOperationError:
            return []  # a container removed meanwhile, or the engine gone: no tail to show

    def follow_logs(
        self, environment_id: str, service: str | None, stop: Callable[[], bool]
    ) -> Iterator[str]:
        with engine_errors(f"logs of {environment_id}"):
            inventory = list_inventory(self.client(), environment_id)
            containers = [c for c in inventory.services if service is None or c.service == service]
            streams = follow_container_logs(self.client(), containers, stop)
        while True:
            with engine_errors(f"logs of {environment_id}"):
                line = next(streams, None)
            if line is None:
                return
            yield line

    def service_status(self, environment_id: str) -> list[ServiceStatus]:
        try:
            with engine_errors(f"services of {environment_id}"):
                inventory = list_inventory(self.client(), environment_id)
                return service_statuses(self.client(), inventory.services)
        except RuntimeOperationError:
            return []

    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        try:
            service = self.project().config_service
            client = self.client()
            with engine_errors(f"containers of {environment_id}"):
                listed = list_inventory(client, environment_id).services
            container = next((c for c in listed if c.service == service), None)
            if container is None or container.state != "running":
                return None
            with engine_errors(f"reading the environment of {environment_id}"):
                inspected = client.api.inspect_container(container.id)
                image = client.api.inspect_image(inspected["Image"])
        except RuntimeOperationError:
            return None
        defaults = set(image.get("Config", {}).get("Env") or [])
        variables = [entry for entry in inspected["Config"].get("Env") or [] if entry not in defaults]
        pairs = dict(entry.partition("=")[::2] for entry in variables)
        return {k: v for k, v in pairs.items() if k not in PLUMBING}

    # -- helpers ---------------------------------------------------------------------------------------------

    def _create_networks(
        self,
        client: docker.DockerClient,
        environment_id: str,
        project: ComposeProject,
        labels: dict[str, str],
    ) -> None:
        tagged = {**labels, naming.ROLE_LABEL: "network"}
        for network in (None, *project.networks):
            client.api.create_network(
                naming.network_name(environment_id, network), driver="bridge", labels=tagged
            )

    def _create_volumes(
        self,
        client: docker.DockerClient,
        environment_id: str,
        project: ComposeProject,
        labels: dict[str, str],
        workspace: Workspace,
    ) -> dict[str, str]:
        """The environment's volumes, filled; returns the shared ones it mounts instead (file's name ->
        engine's name)."""
        loader_image = next(s.image for s in project.services.values() if s.image)
        assert loader_image is not None
        shared: dict[str, str] = {}
        data_volume = project.stagetui.data_volume
        identity = self._data_identity(workspace)
        if data_volume is not None and identity is not None:
            shared[data_volume] = seed_volume(client, self._locks, identity, workspace.data_dir, loader_image)
        tagged = {**labels, naming.ROLE_LABEL: "volume"}
        for volume in project.volumes:
            if volume not in shared:
                client.api.create_volume(naming.volume_name(environment_id, volume), labels=tagged)
        fills = ((data_volume, workspace.data_dir), (project.stagetui.config_volume, workspace.config_dir))
        for filled, directory in fills:
            if filled is not None and filled not in shared:
                fill_volume(
                    client, naming.volume_name(environment_id, filled), directory, loader_image, labels
                )
        return shared

    def _data_identity(self, workspace: Workspace) -> str | None:
        return data_identity(workspace) if self.settings.share_data else None

    def start_summary(self, workspace: Workspace) -> str:
        return start_summary(workspace, "started")

    def collect_shared(self, dry_run: bool = False) -> list[str]:
        """Seed volumes no container mounts any more (their snapshot was replaced, or every environment
        using them is gone), except those an environment being made here is about to mount."""
        wanted = {naming.seed_volume_name(i) for i in self._identities_in_use()}
        with engine_errors(f"listing seed volumes on {self.address}"):
            return remove_unused(self.client(), self._locks, wanted, dry_run)

    def _identities_in_use(self) -> set[str]:
        identities = set()
        for environment_id in workspace_labels(self.root):
            identity = self._data_identity(self.workspace(environment_id))
            if identity is not None:
                identities.add(identity)
        return identities

    def _endpoint(self, client: docker.DockerClient, environment_id: str, project: ComposeProject) -> str:
        endpoint = project.stagetui.endpoint
        name = naming.container_name(environment_id, endpoint.service)
        with engine_errors(f"the endpoint of {environment_id}"):
            ports = client.api.inspect_container(name)["NetworkSettings"]["Ports"] or {}
        bindings = ports.get(f"{endpoint.port}/tcp") or []
        if not bindings:
            raise RuntimeOperationError(f"{endpoint.service} does not publish port {endpoint.port} ({name})")
        host_ip, host_port = bindings[0].get("HostIp") or "127.0.0.1", bindings[0]["HostPort"]
        remote = self.address.startswith(("tcp:", "http", "ssh:"))
        engine_host = urlsplit(self.address).hostname if remote else None
        if engine_host and (host_ip.startswith("127.") or host_ip == "::1"):
            raise RuntimeOperationError(
                f"{endpoint.service} publishes port {endpoint.port} on {host_ip} of the remote engine "
                f"{engine_host}, which nothing here can reach: publish it on 0.0.0.0 or the engine's address "
                "in the compose file's ports"
            )
        host = engine_host or ("127.0.0.1" if host_ip in {"0.0.0.0", "::", ""} else host_ip)
        return f"http://{host}:{host_port}"

    def _not_healthy(self, client: docker.DockerClient, environment_id: str) -> list[str]:
        waiting = []
        for container in list_inventory(client, environment_id).services:
            state = ContainerState.from_inspect(client.api.inspect_container(container.id))
            if state.status == "exited" and state.exit_code == 0:
                continue  # a one-shot job that finished
            if state.status != "running":
                code = state.exit_code
                raise RuntimeOperationError(
                    f"service {container.service} of {environment_id} is {state.status} (exit code {code})"
                )
            if state.health == "unhealthy":
                raise RuntimeOperationError(
                    f"service {container.service} of {environment_id} is unhealthy: {state.detail}"
                )
            if state.health not in {None, "healthy"}:
                waiting.append(f"{container.service} {state.health}")
        return waiting
