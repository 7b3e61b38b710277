"""From a compose service to a Swarm service spec, for one environment. Pure: tested without an engine.

What the docker runtime does with containers, done with services: the same labels, the environment's own
network (overlay, attachable) with the compose names as aliases, limits, the healthcheck, an init process
and a short stop grace period; plus what only an orchestrator has: replicas, placement, rolling updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from stagetui.compose.model import ComposeProject, ServiceSpec
from stagetui.runtimes.docker.containers import healthcheck_request
from stagetui.runtimes.swarm import naming
from stagetui.runtimes.swarm.payloads import Payload

NANOSECONDS = 1_000_000_000
EndpointMode = Literal["vip", "dnsrr"]
RESTART_DELAY = 1.0
"""Seconds before a failed task is replaced (Swarm's default, 5 s, slows every recovery)."""


@dataclass(frozen=True)
class ImageDefaults:
    """The image's own ENTRYPOINT and CMD, needed only to wrap a service's command."""

    entrypoint: tuple[str, ...] = ()
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceRequest:
    name: str
    service: str
    """The compose name."""
    labels: dict[str, str]
    task_template: dict[str, Any]
    mode: dict[str, Any]
    update_config: dict[str, Any]
    endpoint_spec: dict[str, Any]


def _healthcheck(spec: ServiceSpec) -> dict[str, Any]:
    # The container API's lower-case keys become the service API's capitalised ones.
    return {
        key.title().replace("_", ""): value for key, value in healthcheck_request(spec.healthcheck).items()
    }


def command_of(spec: ServiceSpec, image: ImageDefaults) -> list[str]:
    """What the container runs, as compose decides it: a compose entrypoint drops the image's CMD."""
    entrypoint = list(spec.entrypoint) if spec.entrypoint is not None else list(image.entrypoint)
    if spec.command is not None:
        command = list(spec.command)
    else:
        command = [] if spec.entrypoint is not None else list(image.command)
    return entrypoint + command


def wrapped_command(script: str, argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Command and Args that run `script`, then exec `argv` (the service's own command, unchanged)."""
    return ["/bin/sh", "-c", f'{script}\nexec "$@"', "stagetui-start"], list(argv)


def _mounts(
    spec: ServiceSpec, project: ComposeProject, labels: Mapping[str, str], payloads: Mapping[str, Payload]
) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for mount in spec.volumes:
        shipped = payloads.get(mount.source or "")
        if shipped is not None:
            if shipped.joined or not shipped.parts:
                # Filled by the start script (or nothing to fill): a tmpfs, gone with the task.
                mounts.append({"Type": "tmpfs", "Target": mount.target})
            continue  # in place: the configs are the files
        # Any other volume is the task's own: anonymous, so it is removed with the task's container
        # (a named volume would stay on whichever node the task ran, where the manager cannot reach it).
        mounts.append(
            {
                "Type": "volume",
                "Target": mount.target,
                "ReadOnly": mount.read_only,
                "VolumeOptions": {"Labels": dict(labels)},
            }
        )
    return mounts


def _configs(spec: ServiceSpec, payloads: Mapping[str, Payload], ids: Mapping[str, str]) -> list[Any]:
    configs = []
    for mount in spec.volumes:
        shipped = payloads.get(mount.source or "")
        for part in shipped.parts if shipped else ():
            configs.append(
                {
                    "ConfigID": ids[part.name],
                    "ConfigName": part.name,
                    "File": {"Name": part.target, "UID": "0", "GID": "0", "Mode": 0o444},
                }
            )
    return configs


def _placement(spec: ServiceSpec) -> dict[str, Any]:
    placement: dict[str, Any] = {}
    if spec.deploy.constraints:
        placement["Constraints"] = list(spec.deploy.constraints)
    if spec.deploy.spread:
        placement["Preferences"] = [{"Spread": {"SpreadDescriptor": s}} for s in spec.deploy.spread]
    if spec.deploy.max_replicas_per_node is not None:
        placement["MaxReplicas"] = spec.deploy.max_replicas_per_node
    return placement


def _resources(spec: ServiceSpec) -> dict[str, Any]:
    limits: dict[str, int] = {}
    if spec.deploy.cpu_limit:
        limits["NanoCPUs"] = round(spec.deploy.cpu_limit * NANOSECONDS)
    if spec.deploy.memory_limit:
        limits["MemoryBytes"] = spec.deploy.memory_limit
    return {"Limits": limits} if limits else {}


def endpoint_spec(spec: ServiceSpec, mode: EndpointMode) -> dict[str, Any]:
    """Published ports: in dnsrr mode in host mode (each task's node opens the port; without one given,
    the engine picks a free one per task), in vip mode through the routing mesh."""
    ports = [
        {
            "Protocol": port.protocol,
            "TargetPort": port.container_port,
            "PublishMode": "host" if mode == "dnsrr" else "ingress",
            **({"PublishedPort": port.host_port} if port.host_port is not None else {}),
        }
        for port in spec.ports
    ]
    return {"Mode": mode, **({"Ports": ports} if ports else {})}


def service_request(
    project: ComposeProject,
    spec: ServiceSpec,
    environment_id: str,
    labels: Mapping[str, str],
    networks: Mapping[str, str],
    *,
    endpoint_mode: EndpointMode,
    extra_environment: Mapping[str, str],
    stop_timeout: float,
    payloads: Mapping[str, Payload],
    config_ids: Mapping[str, str],
    image: ImageDefaults | None = None,
    replicas: int | None = None,
) -> ServiceRequest:
    """The service of `spec` in environment `environment_id`. `networks`: the compose network name (""
    for the default) -> the overlay's id; `payloads`: compose volume -> the files shipped into it;
    `config_ids`: config name -> id; `image`: needed when a payload is joined at start; `replicas`:
    the current count, kept over the file's on an update."""
    if spec.image is None:
        raise ValueError(f"service {spec.name} has no image")
    container_labels = {
        **spec.labels,
        **labels,
        naming.SERVICE_LABEL: spec.name,
        naming.ROLE_LABEL: "service",
        f"{naming.ENV_LABEL}.project": project.name,
    }
    container: dict[str, Any] = {
        "Image": spec.image,
        "Labels": container_labels,
        "Env": [f"{k}={v}" for k, v in {**spec.environment, **extra_environment}.items()],
        "Hostname": spec.name,
        "Healthcheck": _healthcheck(spec),
        # An init process forwards SIGTERM, so a busybox PID 1 stops at once instead of after the grace.
        "Init": True,
        "StopGracePeriod": round(
            (spec.stop_grace_period if spec.stop_grace_period is not None else stop_timeout) * NANOSECONDS
        ),
        "Mounts": _mounts(spec, project, container_labels, payloads),
        "Configs": _configs(spec, payloads, config_ids),
    }
    joined = [p for m in spec.volumes if (p := payloads.get(m.source or "")) and p.joined]
    if joined:
        if image is None:
            raise ValueError(f"service {spec.name}: its image's command is needed to wrap it")
        argv = command_of(spec, image)
        if not argv:
            raise ValueError(
                f"service {spec.name}: neither the file nor the image {spec.image} has a command"
            )
        container["Command"], container["Args"] = wrapped_command(
            "\n".join(p.start_script() for p in joined), argv
        )
    else:
        if spec.entrypoint is not None:
            container["Command"] = list(spec.entrypoint)
        if spec.command is not None:
            container["Args"] = list(spec.command)
    if spec.working_dir:
        container["Dir"] = spec.working_dir
    if spec.user:
        container["User"] = spec.user
    aliases = [{"Target": networks[n], "Aliases": [spec.name]} for n in (spec.networks or ("",))]
    update = spec.deploy.update
    task_template: dict[str, Any] = {
        "ContainerSpec": container,
        "Networks": aliases,
        "RestartPolicy": {"Condition": "any", "Delay": round(RESTART_DELAY * NANOSECONDS), "MaxAttempts": 0},
        "Placement": _placement(spec),
        "Resources": _resources(spec),
    }
    return ServiceRequest(
        name=naming.service_name(environment_id, spec.name),
        service=spec.name,
        labels={**spec.deploy.labels, **container_labels},
        task_template=task_template,
        mode={"Replicated": {"Replicas": spec.deploy.replicas if replicas is None else replicas}},
        update_config={
            "Parallelism": update.parallelism,
            "Delay": round(update.delay * NANOSECONDS),
            "Monitor": round(update.monitor * NANOSECONDS),
            "Order": update.order,
            "FailureAction": update.failure_action,
        },
        endpoint_spec=endpoint_spec(spec, spec.deploy.endpoint_mode or endpoint_mode),
    )
