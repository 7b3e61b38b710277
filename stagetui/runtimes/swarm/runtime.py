"""The swarm runtime: an environment is the services of a compose file, as Swarm services on a cluster,
on its own attachable overlay network, every service, network and config labelled with the environment.

The manager is the only engine stagetui talks to: it places tasks on the nodes, hands them their configs,
and is asked for everything by label. The workspace is still a local directory where strategies write; its
data and config travel to the nodes as Swarm configs (payloads.py).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors

from stagetui.compose.model import ComposeProject, ServiceSpec
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
    config_variables,
    environment_labels,
)
from stagetui.runtimes.docker.engine import EngineUnavailableError, connect, engine_address, engine_errors
from stagetui.runtimes.health import probe_health
from stagetui.runtimes.log_streams import follow_streams, merge_tails
from stagetui.runtimes.swarm import naming
from stagetui.runtimes.swarm.capacity import node_capacity
from stagetui.runtimes.swarm.definition import load_swarm_project
from stagetui.runtimes.swarm.endpoint import choose_endpoint_mode, endpoint_urls, node_host
from stagetui.runtimes.swarm.inventory import (
    ServiceEntry,
    SwarmInventory,
    list_inventory,
    list_services,
    list_tasks,
)
from stagetui.runtimes.swarm.payloads import Payload, PayloadError, payload
from stagetui.runtimes.swarm.rollout import Rollout, engine_now
from stagetui.runtimes.swarm.specs import ImageDefaults, ServiceRequest, service_request
from stagetui.runtimes.workspaces import (
    create_workspace_directory,
    workspace_labels,
    workspace_under,
    write_labels,
)
from stagetui.store.atomic import atomic_write_text

START_FILE = "start.json"
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
        self._client_factory = client_factory
        self._client: docker.DockerClient | None = None
        self._project: ComposeProject | None = None
        self._lock = threading.Lock()

    # -- wiring ------------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return engine_address(self.settings.host, self.environ)

    def client(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                timeout = self.settings.api_timeout.total_seconds()
                self._client = (
                    self._client_factory()
                    if self._client_factory
                    else connect(self.settings.host, self.environ, timeout)
                )
            return self._client

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
        target = _mount_target(project.services[project.config_service], project.stagetui.data_volume)
        return Path(target) if target else None

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
        project, client, labels = self.project(), self._manager(), environment_labels(env)
        report = progress or (lambda _fraction, _message: None)
        rollout = Rollout(client, env.id, time.monotonic() + timeout)
        with engine_errors(f"networks of {env.id}"):
            networks = self._create_networks(client, env.id, project, labels)
        payloads = self._payloads(env.id, project, workspace)
        with engine_errors(f"configs of {env.id}"):
            config_ids = self._create_configs(client, payloads, labels)
        report(0.2, f"network and {len(config_ids)} config(s) ready")
        started: dict[str, float] = {}
        begun = time.monotonic()
        levels = project.start_levels
        for number, level in enumerate(levels):
            since = engine_now(client)
            for service in level:
                request = self._request(
                    env, project, project.services[service], networks, payloads, config_ids
                )
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
        atomic_write_text(workspace.logs_dir / START_FILE, json.dumps(started, indent=2))
        return self._endpoint(client, env.id, project)

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
                changed = {**_unchanged(spec), "labels": {**(spec.get("Labels") or {}), **labels}}
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
        except EngineUnavailableError:
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
        """Run `replicas` tasks of `service`. Only the replica count of the raw spec changes, so the tasks
        already running keep running (docker-py's Service.scale() resends a spec with defaults filled in,
        which Swarm takes for a change and restarts every task)."""
        client = self._manager()
        entry = self._service(client, environment_id, service)
        since = engine_now(client)
        with engine_errors(f"scaling {service} of {environment_id}"):
            client.api.update_service(
                entry.id,
                entry.version,
                **{**_unchanged(entry.spec), "mode": {"Replicated": {"Replicas": replicas}}},
            )
        Rollout(client, environment_id, time.monotonic() + timeout).wait_ready({service}, since)
        return f"{service}: {entry.replicas} -> {replicas} replica(s), running"

    def update_config(self, env: Environment, workspace: Workspace, timeout: float) -> str:
        """Roll the workspace's (re-rendered) config out: new configs, then a rolling update of each service
        that mounts them or reads the config's variables, as its deploy.update says; the old configs go
        once no task uses them."""
        project, client, labels = self.project(), self._manager(), environment_labels(env)
        rollout = Rollout(client, env.id, time.monotonic() + timeout)
        with engine_errors(f"reading {env.id}"):
            inventory = list_inventory(client, env.id)
        payloads = self._payloads(env.id, project, workspace)
        with engine_errors(f"configs of {env.id}"):
            config_ids = self._create_configs(client, payloads, labels)
        networks = {n: naming.network_name(env.id, n or None) for n in ("", *project.networks)}
        touched = []
        since = engine_now(client)
        for entry in inventory.services:
            spec = project.services.get(entry.service)
            if spec is None or not self._reads_config(project, spec):
                continue
            request = self._request(env, project, spec, networks, payloads, config_ids, entry.replicas)
            with engine_errors(f"updating {entry.service} of {env.id}"):
                client.api.update_service(
                    entry.id,
                    entry.version,
                    task_template=request.task_template,
                    name=entry.name,
                    labels=entry.spec.get("Labels"),
                    mode=entry.spec.get("Mode"),
                    update_config=request.update_config,
                    endpoint_spec=entry.spec.get("EndpointSpec"),
                )
            touched.append(entry)
        for entry in touched:
            rollout.wait_updated(entry.id, entry.service)
        rollout.wait_ready({e.service for e in touched}, since)
        in_use = set(config_ids)
        with engine_errors(f"removing old configs of {env.id}"):
            for name, config_labels in inventory.configs:
                if name not in in_use and config_labels.get(naming.ROLE_LABEL) == "config":
                    client.api.remove_config(name)
        names = ", ".join(e.service for e in touched) or "no service"
        return f"config rolled out to {names}"

    def current_endpoint(self, environment_id: str) -> str | None:
        try:
            return self._endpoint(self.client(), environment_id, self.project())
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
            streams = [(s.service, _logs(client, s.id, tail=0, follow=True)) for s in services]
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
        try:
            seconds = json.loads((workspace.logs_dir / START_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        ordered = sorted(seconds.items(), key=lambda item: item[1])
        return "created " + ", ".join(f"{service} at {at:.1f}s" for service, at in ordered)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _service(self, client: docker.DockerClient, environment_id: str, service: str) -> ServiceEntry:
        with engine_errors(f"services of {environment_id}"):
            services = list_services(client, environment_id)
        for entry in services:
            if entry.service == service:
                return entry
        known = ", ".join(s.service for s in services) or "none"
        raise RuntimeOperationError(f"{environment_id} has no service {service!r} (its services: {known})")

    def _create_networks(
        self,
        client: docker.DockerClient,
        environment_id: str,
        project: ComposeProject,
        labels: dict[str, str],
    ) -> dict[str, str]:
        """Compose network name ("" for the default) -> the overlay's name."""
        tagged = {**labels, naming.ROLE_LABEL: "network"}
        created = {}
        for network in ("", *project.networks):
            name = naming.network_name(environment_id, network or None)
            client.api.create_network(name, driver="overlay", attachable=True, labels=tagged)
            created[network] = name
        return created

    def _payloads(
        self, environment_id: str, project: ComposeProject, workspace: Workspace
    ) -> dict[tuple[str, str], Payload]:
        """(volume, mount target) -> its files as configs, for every service mounting the data or config
        volume (a target of its own per service, the same configs)."""
        shipped = (
            (project.stagetui.data_volume, "data", workspace.data_dir),
            (project.stagetui.config_volume, "config", workspace.config_dir),
        )
        found: dict[tuple[str, str], Payload] = {}
        for volume, kind, directory in shipped:
            if volume is None:
                continue
            for spec in project.services.values():
                target = _mount_target(spec, volume)
                if target is not None and (volume, target) not in found:
                    try:
                        found[(volume, target)] = payload(
                            environment_id, kind, directory, target, max_bytes=self.settings.max_data_size
                        )
                    except PayloadError as error:
                        raise RuntimeOperationError(f"{environment_id}: {error}") from None
        return found

    def _create_configs(
        self, client: docker.DockerClient, payloads: Mapping[tuple[str, str], Payload], labels: dict[str, str]
    ) -> dict[str, str]:
        """Config name -> id; configs that exist already (same content) are reused."""
        existing = {
            (c.get("Spec") or {}).get("Name"): c["ID"]
            for c in client.api.configs(filters=naming.environment_filter(labels[naming.ENV_LABEL]))
        }
        ids: dict[str, str] = {}
        for shipped in payloads.values():
            for part in shipped.parts:
                if part.name in ids:
                    continue
                if part.name in existing:
                    ids[part.name] = existing[part.name]
                    continue
                tagged = {**labels, naming.ROLE_LABEL: shipped.kind}
                created = client.api.create_config(part.name, part.content, labels=tagged)
                ids[part.name] = created["ID"]
        return ids

    def _request(
        self,
        env: Environment,
        project: ComposeProject,
        spec: ServiceSpec,
        networks: Mapping[str, str],
        payloads: Mapping[tuple[str, str], Payload],
        config_ids: Mapping[str, str],
        replicas: int | None = None,
    ) -> ServiceRequest:
        mine = {
            m.source or "": payloads[(m.source or "", m.target)]
            for m in spec.volumes
            if (m.source or "", m.target) in payloads
        }
        extra: dict[str, str] = {}
        if spec.name == project.config_service:
            extra = {**config_variables(self.workspace(env.id).config_file), "STAGETUI_ENV_ID": env.id}
        image = self._image_defaults(spec) if any(p.joined for p in mine.values()) else None
        try:
            return service_request(
                project,
                spec,
                env.id,
                environment_labels(env),
                networks,
                endpoint_mode=choose_endpoint_mode(self.settings.endpoint_mode, self.address),
                extra_environment=extra,
                stop_timeout=self.settings.stop_timeout.total_seconds(),
                payloads=mine,
                config_ids=config_ids,
                image=image,
                replicas=replicas,
            )
        except ValueError as error:
            raise RuntimeOperationError(f"{env.id}: {error}") from None

    def _image_defaults(self, spec: ServiceSpec) -> ImageDefaults:
        """The image's ENTRYPOINT and CMD, read on the manager: a service whose data is joined at start
        runs its own command after the join, so that command must be known."""
        if spec.entrypoint is not None and spec.command is not None:
            return ImageDefaults()
        try:
            with engine_errors(f"image {spec.image} of service {spec.name}"):
                config = self.client().api.inspect_image(spec.image).get("Config") or {}
        except RuntimeOperationError as error:
            raise RuntimeOperationError(
                f"{error}: the manager needs the image to learn its command, as {spec.name}'s data is "
                "joined when its tasks start; or give both entrypoint: and command: in the compose file"
            ) from None
        return ImageDefaults(tuple(config.get("Entrypoint") or ()), tuple(config.get("Cmd") or ()))

    def _reads_config(self, project: ComposeProject, spec: ServiceSpec) -> bool:
        volume = project.stagetui.config_volume
        return spec.name == project.config_service or (
            volume is not None and _mount_target(spec, volume) is not None
        )

    def _endpoint(self, client: docker.DockerClient, environment_id: str, project: ComposeProject) -> str:
        endpoint = project.stagetui.endpoint
        entry = self._service(client, environment_id, endpoint.service)
        with engine_errors(f"the endpoint of {environment_id}"):
            if (entry.spec.get("EndpointSpec") or {}).get("Mode") == "vip":
                published = [
                    p["PublishedPort"]
                    for p in (client.api.inspect_service(entry.id).get("Endpoint") or {}).get("Ports") or []
                    if p.get("TargetPort") == endpoint.port and p.get("PublishedPort")
                ]
                if published:
                    return f"http://{node_host('', self.address)}:{published[0]}"
            nodes = {n["ID"]: (n.get("Status") or {}).get("Addr", "") for n in client.api.nodes()}
            tasks = list_tasks(client, environment_id)
        urls = endpoint_urls(tasks, entry.id, endpoint.port, nodes, self.address)
        if not urls:
            raise RuntimeOperationError(
                f"{endpoint.service} of {environment_id} publishes no port {endpoint.port}: add it to the "
                "service's ports: in the compose file"
            )
        return urls[0]

    def _wait_tasks_gone(self, client: docker.DockerClient, environment_id: str) -> None:
        deadline = time.monotonic() + TASKS_GONE_TIMEOUT
        while list_tasks(client, environment_id):
            if time.monotonic() > deadline:
                raise RuntimeOperationError(
                    f"{environment_id}: its tasks were not gone from the nodes within "
                    f"{TASKS_GONE_TIMEOUT:.0f}s; gc retries"
                )
            time.sleep(0.25)


def _mount_target(spec: ServiceSpec, volume: str | None) -> str | None:
    return next((m.target for m in spec.volumes if m.kind == "volume" and m.source == volume), None)


def _unchanged(spec: Mapping[str, Any]) -> dict[str, Any]:
    """update_service arguments that resend a raw spec as it is (the caller overrides what changes)."""
    return {
        "task_template": spec.get("TaskTemplate"),
        "name": spec.get("Name"),
        "labels": spec.get("Labels"),
        "mode": spec.get("Mode"),
        "update_config": spec.get("UpdateConfig"),
        "rollback_config": spec.get("RollbackConfig"),
        "endpoint_spec": spec.get("EndpointSpec"),
    }


def _limits(spec: Mapping[str, Any]) -> tuple[float, int]:
    limits = ((spec.get("TaskTemplate") or {}).get("Resources") or {}).get("Limits") or {}
    return int(limits.get("NanoCPUs", 0)) / 1e9, int(limits.get("MemoryBytes", 0))


def _logs(client: docker.DockerClient, service_id: str, **options: Any) -> Iterator[bytes]:
    stream: Iterator[bytes] = client.api.service_logs(service_id, stdout=True, stderr=True, **options)
    return stream
