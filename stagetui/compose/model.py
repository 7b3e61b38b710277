"""A parsed compose file: what the docker runtime creates for one environment.

Plain frozen data, no docker imports: the parser builds it, runtimes read it, tests compare it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DependencyCondition = Literal["service_started", "service_healthy", "service_completed_successfully"]


@dataclass(frozen=True)
class Healthcheck:
    """`test` is the compose form: ("CMD", arg, ...) or ("CMD-SHELL", "command line")."""

    test: tuple[str, ...]
    interval: float = 30.0
    """Seconds between checks."""
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    host_ip: str = "127.0.0.1"
    """Loopback unless the file says otherwise: staging services are not published to the network."""
    host_port: int | None = None
    """None: an ephemeral port, so environments of one definition never collide."""


@dataclass(frozen=True)
class VolumeMount:
    target: str
    """Absolute path inside the container."""
    source: str | None = None
    """A named volume of the file (kind "volume"), an absolute host path (kind "bind"), or None
    (anonymous)."""
    kind: Literal["volume", "bind"] = "volume"
    read_only: bool = False


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: DependencyCondition = "service_started"


@dataclass(frozen=True)
class BuildSpec:
    context: Path
    """Absolute; relative paths in the file are resolved against the file's directory."""
    dockerfile: str = "Dockerfile"
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None


@dataclass(frozen=True)
class UpdateConfig:
    """How a rolling update of the service proceeds (swarm)."""

    parallelism: int = 1
    delay: float = 0.0
    monitor: float = 1.0
    """Seconds each updated task is watched for failure before the next batch (Swarm's default is 5 s;
    with healthchecks a task counts as running only once healthy, so staging needs less)."""
    order: Literal["stop-first", "start-first"] = "stop-first"
    failure_action: Literal["pause", "continue", "rollback"] = "pause"


@dataclass(frozen=True)
class DeploySpec:
    """The service's `deploy:` section: replicas and placement for an orchestrator, resource limits
    everywhere."""

    replicas: int = 1
    endpoint_mode: Literal["vip", "dnsrr"] | None = None
    """None: the runtime chooses (dnsrr where the kernel has no IPVS)."""
    constraints: tuple[str, ...] = ()
    max_replicas_per_node: int | None = None
    spread: tuple[str, ...] = ()
    """Placement preferences: node labels to spread replicas over."""
    update: UpdateConfig = field(default_factory=UpdateConfig)
    cpu_limit: float | None = None
    """CPUs (e.g. 0.5)."""
    memory_limit: int | None = None
    """Bytes."""
    labels: dict[str, str] = field(default_factory=dict)
    """Labels of the service itself (not of its containers)."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str | None = None
    """Image reference; with `build` it is the tag the build gets."""
    build: BuildSpec | None = None
    command: tuple[str, ...] | None = None
    """None: the image's own command. A string in the file is split like a shell would (no expansion)."""
    entrypoint: tuple[str, ...] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    """env_file entries first, then `environment` over them (compose's precedence)."""
    ports: tuple[PortMapping, ...] = ()
    volumes: tuple[VolumeMount, ...] = ()
    depends_on: tuple[Dependency, ...] = ()
    healthcheck: Healthcheck | None = None
    """None: no check (or `disable: true`); the image's own HEALTHCHECK is then turned off too."""
    labels: dict[str, str] = field(default_factory=dict)
    networks: tuple[str, ...] = ()
    """Networks of the file it joins; () means the environment's default network."""
    working_dir: str | None = None
    user: str | None = None
    stop_grace_period: float | None = None
    """Seconds; None: the runtime's stop timeout."""
    deploy: DeploySpec = field(default_factory=DeploySpec)

    def mount_target(self, volume: str | None) -> str | None:
        """Where the service mounts the named volume, if it does."""
        return next((m.target for m in self.volumes if m.kind == "volume" and m.source == volume), None)


@dataclass(frozen=True)
class EndpointSpec:
    """Where the environment answers: stagetui health-checks and reports this."""

    service: str
    port: int
    """Container port; the runtime reads the host port docker published for it."""
    health_path: str = "/health"


@dataclass(frozen=True)
class StagetuiExtension:
    """The file's `x-stagetui` block: how stagetui's pipeline plugs into the definition."""

    endpoint: EndpointSpec
    data_volume: str | None = None
    """Named volume that receives the environment's data directory (its SQLite database)."""
    config_volume: str | None = None
    """Named volume that receives the rendered config (config.json)."""
    config_service: str | None = None
    """Service whose environment gets the config's `env` namespace as variables (drift reads them back);
    None: the endpoint's service."""


@dataclass(frozen=True)
class ComposeProject:
    path: Path
    name: str
    services: dict[str, ServiceSpec]
    """In file order."""
    volumes: tuple[str, ...]
    """Named volumes declared at the top level."""
    networks: tuple[str, ...]
    """Networks declared at the top level (the environment also gets a default network)."""
    stagetui: StagetuiExtension
    start_levels: tuple[tuple[str, ...], ...]
    """Services grouped by dependency depth: every service of a level depends only on earlier levels, so a
    level starts in parallel once the one before it is ready."""

    @property
    def config_service(self) -> str:
        return self.stagetui.config_service or self.stagetui.endpoint.service

    @property
    def data_target(self) -> str | None:
        """Where the config service mounts the data volume: its database's directory as it sees it."""
        return self.services[self.config_service].mount_target(self.stagetui.data_volume)
