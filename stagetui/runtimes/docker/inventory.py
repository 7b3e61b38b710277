"""What an environment holds on the engine, found by label: containers, networks, volumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import docker

from stagetui.runtimes.docker import naming


@dataclass(frozen=True)
class ContainerEntry:
    id: str
    name: str
    service: str
    role: str
    state: str
    exit_code: int
    labels: dict[str, str]


@dataclass
class Inventory:
    containers: list[ContainerEntry] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    network_labels: list[dict[str, str]] = field(default_factory=list)
    """Labels of `networks`, in the same order."""
    volume_labels: list[dict[str, str]] = field(default_factory=list)
    """Labels of `volumes`, in the same order."""

    @property
    def services(self) -> list[ContainerEntry]:
        """The service containers (not the short-lived loaders), in name order."""
        return sorted((c for c in self.containers if c.role == "service"), key=lambda c: c.name)

    def names(self) -> list[str]:
        return (
            [f"container {c.name}" for c in self.containers]
            + [f"network {n}" for n in self.networks]
            + [f"volume {v}" for v in self.volumes]
        )

    def labels(self) -> dict[str, str]:
        """The environment's labels, from any of its resources; a claim's over the original ones."""
        for labels in self.volume_labels:
            if labels.get(naming.ROLE_LABEL) == "claim":
                return {
                    k: v for k, v in labels.items() if k.startswith("stagetui.") and k != naming.ROLE_LABEL
                }
        for labels in [c.labels for c in self.containers] + self.network_labels + self.volume_labels:
            if labels.get(naming.ENV_LABEL):
                return {k: v for k, v in labels.items() if k.startswith("stagetui.")}
        return {}

    def by_environment(self) -> dict[str, Inventory]:
        split: dict[str, Inventory] = {}
        for container in self.containers:
            split.setdefault(container.labels[naming.ENV_LABEL], Inventory()).containers.append(container)
        for network, labels in zip(self.networks, self.network_labels, strict=True):
            entry = split.setdefault(labels[naming.ENV_LABEL], Inventory())
            entry.networks.append(network)
            entry.network_labels.append(labels)
        for volume, labels in zip(self.volumes, self.volume_labels, strict=True):
            entry = split.setdefault(labels[naming.ENV_LABEL], Inventory())
            entry.volumes.append(volume)
            entry.volume_labels.append(labels)
        return split


def _exit_code(status: str) -> int:
    """The exit code from a list entry's Status ("Exited (137) 2 seconds ago"); 0 when not exited."""
    if status.startswith("Exited (") and ")" in status:
        try:
            return int(status[len("Exited (") : status.index(")")])
        except ValueError:
            return -1
    return 0


def list_inventory(client: docker.DockerClient, environment_id: str | None) -> Inventory:
    """Resources of one environment, or of every environment (environment_id None). Three list calls."""
    api = client.api
    label_filter = naming.environment_filter(environment_id)
    inventory = Inventory()
    for entry in api.containers(all=True, filters=label_filter):
        labels = entry.get("Labels") or {}
        inventory.containers.append(
            ContainerEntry(
                id=entry["Id"],
                name=(entry.get("Names") or ["?"])[0].lstrip("/"),
                service=labels.get(naming.SERVICE_LABEL, ""),
                role=labels.get(naming.ROLE_LABEL, "service"),
                state=entry.get("State", ""),
                exit_code=_exit_code(entry.get("Status", "")),
                labels=labels,
            )
        )
    for network in api.networks(filters=label_filter):
        inventory.networks.append(network["Name"])
        inventory.network_labels.append(network.get("Labels") or {})
    for volume in api.volumes(filters=label_filter).get("Volumes") or []:
        inventory.volumes.append(volume["Name"])
        inventory.volume_labels.append(volume.get("Labels") or {})
    return inventory
