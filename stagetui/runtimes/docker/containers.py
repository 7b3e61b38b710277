"""From a compose service to the engine's create-container request, for one environment.

`container_request` is pure (tested without an engine); `create_container` sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
from docker.types import Mount

from stagetui.compose.model import ComposeProject, Healthcheck, ServiceSpec
from stagetui.runtimes.docker import naming

_NANOSECONDS = 1_000_000_000


@dataclass(frozen=True)
class ContainerRequest:
    name: str
    service: str
    image: str
    command: list[str] | None
    entrypoint: list[str] | None
    environment: dict[str, str]
    labels: dict[str, str]
    ports: dict[str, tuple[str, int] | tuple[str]]
    """"8080/tcp" -> (host ip, host port), or (host ip,) for an ephemeral port."""
    mounts: list[Mount]
    networks: dict[str, list[str]]
    """Network name -> aliases; the first is the one the container is created on."""
    healthcheck: dict[str, Any]
    working_dir: str | None = None
    user: str | None = None
    stop_timeout: int = 2
    memory_limit: int | None = None
    nano_cpus: int | None = None


def healthcheck_request(check: Healthcheck | None) -> dict[str, Any]:
    """The engine's healthcheck; a service without one also has its image's check turned off, so the
    readiness stagetui waits for is exactly what the file says."""
    if check is None:
        return {"test": ["NONE"]}
    return {
        "test": list(check.test),
        "interval": int(check.interval * _NANOSECONDS),
        "timeout": int(check.timeout * _NANOSECONDS),
        "retries": check.retries,
        "start_period": int(check.start_period * _NANOSECONDS),
    }


def container_request(
    project: ComposeProject,
    spec: ServiceSpec,
    environment_id: str,
    labels: Mapping[str, str],
    extra_environment: Mapping[str, str],
    stop_timeout: float,
    shared_volumes: Mapping[str, str] | None = None,
) -> ContainerRequest:
    """The container of `spec` in environment `environment_id`: its names, labels, mounts and networks
    are the environment's own, so any number of environments of one definition run side by side. Volumes
    in `shared_volumes` (file's name -> engine's name) are shared among environments and mounted read-only."""
    shared = shared_volumes or {}
    if spec.image is None:
        raise ValueError(f"service {spec.name} has no image")
    ports: dict[str, tuple[str, int] | tuple[str]] = {}
    for port in spec.ports:
        key = f"{port.container_port}/{port.protocol}"
        ports[key] = (port.host_ip,) if port.host_port is None else (port.host_ip, port.host_port)
    mounts = []
    for mount in spec.volumes:
        source, read_only = mount.source, mount.read_only
        if mount.kind == "volume" and mount.source is not None:
            if mount.source in shared:
                source, read_only = shared[mount.source], True
            else:
                source = naming.volume_name(environment_id, mount.source)
        mounts.append(
            Mount(
                target=mount.target,
                source=source,
                type=mount.kind,
                read_only=read_only,
                labels=dict(labels) if mount.kind == "volume" else None,
            )
        )
    networks = [naming.network_name(environment_id, n) for n in spec.networks] or [
        naming.network_name(environment_id)
    ]
    grace = spec.stop_grace_period if spec.stop_grace_period is not None else stop_timeout
    return ContainerRequest(
        name=naming.container_name(environment_id, spec.name),
        service=spec.name,
        image=spec.image,
        command=list(spec.command) if spec.command is not None else None,
        entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
        environment={**spec.environment, **extra_environment},
        labels={
            **spec.labels,
            **labels,
            naming.SERVICE_LABEL: spec.name,
            naming.ROLE_LABEL: "service",
            f"{naming.ENV_LABEL}.project": project.name,
        },
        ports=ports,
        mounts=mounts,
        networks={network: [spec.name] for network in networks},
        healthcheck=healthcheck_request(spec.healthcheck),
        working_dir=spec.working_dir,
        user=spec.user,
        stop_timeout=max(1, round(grace)),
        memory_limit=spec.deploy.memory_limit,
        nano_cpus=round(spec.deploy.cpu_limit * _NANOSECONDS) if spec.deploy.cpu_limit else None,
    )


def create_container(client: docker.DockerClient, request: ContainerRequest) -> str:
    """Create (not start) the container on its first network and join the others; returns its id."""
    api = client.api
    first, *others = request.networks
    host_config = api.create_host_config(
        port_bindings=request.ports,
        mounts=request.mounts,
        # An init process reaps children and forwards SIGTERM, so images whose PID 1 ignores it (busybox
        # sh) still stop at once instead of waiting out the grace period.
        init=True,
        mem_limit=request.memory_limit,
        nano_cpus=request.nano_cpus,
    )
    created = api.create_container(
        request.image,
        command=request.command,
        entrypoint=request.entrypoint,
        name=request.name,
        hostname=request.service,
        environment=request.environment,
        labels=request.labels,
        ports=[(int(key.split("/")[0]), key.split("/")[1]) for key in request.ports],
        host_config=host_config,
        networking_config=api.create_networking_config(
            {first: api.create_endpoint_config(aliases=request.networks[first])}
        ),
        healthcheck=request.healthcheck,
        working_dir=request.working_dir,
        user=request.user,
        stop_timeout=request.stop_timeout,
        # The caller's proxy settings are the caller's, not the environment's.
        use_config_proxy=False,
    )
    container_id = str(created["Id"])
    for network in others:
        api.connect_container_to_network(container_id, network, aliases=request.networks[network])
    return container_id
