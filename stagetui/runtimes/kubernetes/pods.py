"""A compose service's container and pod volumes: image, command, variables, ports, mounts, limits and
probes. Each function returns what it could render and notes on what it could not."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from stagetui.compose.model import ComposeProject, Healthcheck, ServiceSpec, VolumeMount
from stagetui.runtimes.kubernetes.metadata import Json
from stagetui.runtimes.kubernetes.names import dns_label, short_hash

_NUMERIC_USER = re.compile(r"(\d+)(?::(\d+))?")
_UNITS = (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


@dataclass
class PodParts:
    """What the pod template of one service is made of, gathered while rendering it."""

    container: Json
    volumes: dict[str, Json] = field(default_factory=dict)
    """Pod volume name -> its source."""
    annotations: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def cpu_quantity(cpus: float) -> str:
    return f"{max(1, round(cpus * 1000))}m"


def memory_quantity(amount: int) -> str:
    for suffix, size in _UNITS:
        if amount % size == 0:
            return f"{amount // size}{suffix}"
    return str(amount)


def probe_timing(check: Healthcheck) -> Json:
    return {
        "initialDelaySeconds": math.ceil(check.start_period),
        "periodSeconds": max(1, math.ceil(check.interval)),
        "timeoutSeconds": max(1, math.ceil(check.timeout)),
        "failureThreshold": max(1, check.retries),
    }


def exec_probe(check: Healthcheck) -> Json:
    """CMD runs the program itself; CMD-SHELL runs the line with /bin/sh -c, as the engine does."""
    command = list(check.test[1:]) if check.test[0] == "CMD" else ["/bin/sh", "-c", check.test[1]]
    return {"exec": {"command": command}, **probe_timing(check)}


def probes(project: ComposeProject, spec: ServiceSpec) -> Json:
    """readinessProbe from the compose healthcheck; the endpoint's service is ready when its health path
    answers (what stagetui checks), its compose healthcheck then gating its start (startupProbe)."""
    endpoint = project.stagetui.endpoint
    check = spec.healthcheck
    if spec.name != endpoint.service:
        return {"readinessProbe": exec_probe(check)} if check else {}
    http: Json = {"httpGet": {"path": endpoint.health_path, "port": endpoint.port}}
    if check is None:
        return {"readinessProbe": http}
    return {"startupProbe": exec_probe(check), "readinessProbe": {**http, **probe_timing(check)}}


def container(
    project: ComposeProject,
    spec: ServiceSpec,
    name: str,
    env: list[Json],
    config_volume: Json | None,
    local_images: Collection[str],
) -> PodParts:
    body: Json = {"name": name, "image": spec.image}
    parts = PodParts(body)
    if spec.entrypoint is not None:
        body["command"] = list(spec.entrypoint)
    if spec.command is not None:
        body["args"] = list(spec.command)
    if spec.working_dir is not None:
        body["workingDir"] = spec.working_dir
    if env:
        body["env"] = env
    ports = dict.fromkeys((p.container_port, p.protocol.upper()) for p in spec.ports)
    if ports:
        body["ports"] = [{"containerPort": port, "protocol": protocol} for port, protocol in ports]
    limits = _limits(spec)
    if limits:
        body["resources"] = {"limits": limits}
    body.update(probes(project, spec))
    _user(spec, body, parts.notes)
    mounts = [_mount(project, spec, mount, config_volume, parts) for mount in spec.volumes]
    if any(mount is not None for mount in mounts):
        body["volumeMounts"] = [mount for mount in mounts if mount is not None]
    if spec.build is not None:
        parts.notes.append(
            f"build ({spec.build.context}): build {spec.image} and push it where the cluster pulls from"
        )
    elif spec.image in local_images:
        parts.notes.append(
            f"image {spec.image}: built on this machine by the docker runtime, in no registry; load it "
            "into the cluster's nodes or push it where the cluster pulls from"
        )
    return parts


def _limits(spec: ServiceSpec) -> dict[str, str]:
    limits = {}
    if spec.deploy.cpu_limit is not None:
        limits["cpu"] = cpu_quantity(spec.deploy.cpu_limit)
    if spec.deploy.memory_limit is not None:
        limits["memory"] = memory_quantity(spec.deploy.memory_limit)
    return limits


def _user(spec: ServiceSpec, body: Json, notes: list[str]) -> None:
    if spec.user is None:
        return
    match = _NUMERIC_USER.fullmatch(spec.user)
    if match is None:
        notes.append(f"user {spec.user!r}: Kubernetes takes a numeric uid[:gid] (runAsUser), not a name")
        return
    context: Json = {"runAsUser": int(match.group(1))}
    if match.group(2) is not None:
        context["runAsGroup"] = int(match.group(2))
    body["securityContext"] = context


def _mount(
    project: ComposeProject,
    spec: ServiceSpec,
    mount: VolumeMount,
    config_volume: Json | None,
    parts: PodParts,
) -> Json | None:
    """The container's mount of `mount`, its pod volume registered in `parts`; None for a bind mount."""
    extension = project.stagetui
    if mount.kind == "bind":
        parts.notes.append(
            f"bind mount {mount.source}:{mount.target}: a path of the Docker host, which a cluster node "
            "does not have"
        )
        return None
    if mount.source is None:
        volume = f"anonymous-{short_hash(mount.target)}"
        parts.volumes[volume] = {"emptyDir": {}}
    elif mount.source == extension.config_volume and config_volume is not None:
        volume = dns_label(mount.source)
        parts.volumes[volume] = config_volume
        return {"name": volume, "mountPath": mount.target, "readOnly": True}
    else:
        volume = dns_label(mount.source)
        parts.volumes[volume] = {"emptyDir": {}}
        if mount.source == extension.data_volume:
            parts.annotations["stagetui.io/data-volume"] = (
                f"{mount.source} (at {mount.target}): an emptyDir the runtime seeds with the "
                "environment's data (its database), which this render does not"
            )
        elif mount.source == extension.config_volume:
            parts.notes.append(f"volume {mount.source}: no config.json to mount, an empty emptyDir instead")
        else:
            parts.notes.append(
                f"volume {mount.source}: an emptyDir per pod, neither shared with other services nor kept "
                "across restarts as a compose volume is"
            )
    entry: Json = {"name": volume, "mountPath": mount.target}
    if mount.read_only:
        entry["readOnly"] = True
    return entry
