"""What environments hold on a swarm, found by label through the manager: services, their tasks,
networks and configs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import docker

from stagetui.runtimes.base import LABEL_PREFIX
from stagetui.runtimes.swarm import naming
from stagetui.runtimes.swarm.tasks import TaskEntry, progress_of, task_entry


@dataclass(frozen=True)
class ServiceEntry:
    id: str
    name: str
    service: str
    """The compose name."""
    labels: dict[str, str]
    replicas: int
    spec: dict[str, Any]
    version: int


@dataclass
class SwarmInventory:
    services: list[ServiceEntry] = field(default_factory=list)
    tasks: list[TaskEntry] = field(default_factory=list)
    networks: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    configs: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return (
            [f"service {s.name}" for s in self.services]
            + [f"network {name}" for name, _ in self.networks]
            + [f"config {name}" for name, _ in self.configs]
        )

    def labels(self) -> dict[str, str]:
        """The environment's labels (services' labels are updated on a relabel; the rest cannot be)."""
        everything = [s.labels for s in self.services] + [
            labels for _, labels in self.networks + self.configs
        ]
        for found in everything:
            if found.get(naming.ENV_LABEL):
                return {k: v for k, v in found.items() if k.startswith(LABEL_PREFIX)}
        return {}

    def running(self) -> bool:
        """Every service runs as many tasks as it wants."""
        return bool(self.services) and all(
            progress_of(s.service, s.replicas, (t for t in self.tasks if t.service_id == s.id)).ready
            for s in self.services
        )

    def by_environment(self) -> dict[str, SwarmInventory]:
        split: dict[str, SwarmInventory] = {}
        for service in self.services:
            split.setdefault(service.labels[naming.ENV_LABEL], SwarmInventory()).services.append(service)
        for task in self.tasks:
            split.setdefault(task.environment_id, SwarmInventory()).tasks.append(task)
        for network in self.networks:
            split.setdefault(network[1][naming.ENV_LABEL], SwarmInventory()).networks.append(network)
        for config in self.configs:
            split.setdefault(config[1][naming.ENV_LABEL], SwarmInventory()).configs.append(config)
        return split


def service_entry(raw: dict[str, Any]) -> ServiceEntry:
    spec = raw.get("Spec") or {}
    labels = spec.get("Labels") or {}
    replicated = (spec.get("Mode") or {}).get("Replicated") or {}
    return ServiceEntry(
        id=str(raw["ID"]),
        name=str(spec.get("Name", "")),
        service=str(labels.get(naming.SERVICE_LABEL, "")),
        labels=dict(labels),
        replicas=int(replicated.get("Replicas", 1)),
        spec=spec,
        version=int((raw.get("Version") or {}).get("Index", 0)),
    )


def list_services(client: docker.DockerClient, environment_id: str | None) -> list[ServiceEntry]:
    raw = client.api.services(filters=naming.environment_filter(environment_id))
    return sorted((service_entry(s) for s in raw), key=lambda s: s.name)


def list_tasks(client: docker.DockerClient, environment_id: str | None) -> list[TaskEntry]:
    """Tasks of the environment's services (or of every environment), the ended ones Swarm keeps too."""
    raw = client.api.tasks(filters=naming.environment_filter(environment_id))
    return [task_entry(t) for t in raw]


def list_inventory(client: docker.DockerClient, environment_id: str | None) -> SwarmInventory:
    """Four list calls to the manager."""
    api, label_filter = client.api, naming.environment_filter(environment_id)
    inventory = SwarmInventory(services=list_services(client, environment_id))
    inventory.tasks = list_tasks(client, environment_id)
    for network in api.networks(filters={**label_filter, "scope": "swarm"}):
        inventory.networks.append((network["Name"], network.get("Labels") or {}))
    for config in api.configs(filters=label_filter):
        spec = config.get("Spec") or {}
        inventory.configs.append((spec.get("Name", ""), spec.get("Labels") or {}))
    return inventory
