"""Status, health and resource use of an environment's services, read from the engine."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors

from stagetui.domain.service_status import ServiceStatus
from stagetui.runtimes.docker.inventory import ContainerEntry


def cpu_percent(stats: dict[str, Any]) -> float | None:
    """CPU use over the engine's sampling interval, as `docker stats` computes it (100% = one core)."""
    try:
        cpu, pre = stats["cpu_stats"], stats["precpu_stats"]
        used = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
        cores = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or [1])
    except (KeyError, TypeError):
        return None
    if system <= 0 or used < 0:
        return None
    return float(used / system * cores * 100.0)


def memory_bytes(stats: dict[str, Any]) -> tuple[int | None, int | None]:
    """Memory in use (page cache left out, as `docker stats` does) and the limit."""
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None, None
    details = memory.get("stats") or {}
    cache = details.get("inactive_file", details.get("total_inactive_file", 0))
    return max(0, int(usage) - int(cache)), memory.get("limit")


def _published(ports: dict[str, Any] | None) -> tuple[str, ...]:
    published = []
    for container_port, bindings in sorted((ports or {}).items()):
        for binding in bindings or []:
            published.append(
                f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{container_port}"
            )
    return tuple(published)


def _status(client: docker.DockerClient, container: ContainerEntry) -> ServiceStatus:
    api = client.api
    try:
        inspected = api.inspect_container(container.id)
    except docker.errors.NotFound:
        return ServiceStatus(container.service, "removed")
    state = inspected.get("State") or {}
    health = (state.get("Health") or {}).get("Status")
    cpu, memory, limit = None, None, None
    if state.get("Status") == "running":
        try:
            # Not one-shot: the engine samples twice, which is what a CPU percentage needs (about 1 s).
            stats = api.stats(container.id, stream=False)
            cpu = cpu_percent(stats)
            memory, limit = memory_bytes(stats)
            # Without a limit of its own the engine reports the host's memory: not worth showing as one.
            if not (inspected.get("HostConfig") or {}).get("Memory"):
                limit = None
        except docker.errors.APIError:
            pass
    return ServiceStatus(
        name=container.service,
        state=str(state.get("Status", "")),
        health=str(health) if health else None,
        cpu_percent=cpu,
        memory_bytes=memory,
        memory_limit_bytes=limit,
        restarts=int(inspected.get("RestartCount") or 0),
        ports=_published((inspected.get("NetworkSettings") or {}).get("Ports")),
        image=str((inspected.get("Config") or {}).get("Image", "")),
    )


def service_statuses(
    client: docker.DockerClient, containers: Sequence[ContainerEntry]
) -> list[ServiceStatus]:
    """One status per service container, read in parallel (each stats call takes the engine ~1 s)."""
    if not containers:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(containers)), thread_name_prefix="stats") as pool:
        return list(pool.map(lambda c: _status(client, c), containers))
