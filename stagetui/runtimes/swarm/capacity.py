"""Nodes and the environments placed on each, from the manager's node and task lists. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from stagetui.domain.nodes import NodeCapacity
from stagetui.runtimes.swarm.tasks import TaskEntry

NANOSECONDS = 1_000_000_000


def node_capacity(
    nodes: Iterable[Mapping[str, Any]],
    tasks: Iterable[TaskEntry],
    limits: Mapping[str, tuple[float, int]] | None = None,
) -> list[NodeCapacity]:
    """One entry per node, managers first, then by hostname. `tasks`: stagetui's tasks; `limits`: the
    CPU and memory limit of one task of each service id."""
    running = [t for t in tasks if t.running]
    per_node: dict[str, Counter[str]] = {}
    reserved: dict[str, tuple[float, int]] = {}
    for task in running:
        per_node.setdefault(task.node_id, Counter())[task.environment_id] += 1
        cpus, memory = (limits or {}).get(task.service_id, (0.0, 0))
        before = reserved.get(task.node_id, (0.0, 0))
        reserved[task.node_id] = (before[0] + cpus, before[1] + memory)
    found = []
    for raw in nodes:
        node_id = str(raw.get("ID", ""))
        spec, status = raw.get("Spec") or {}, raw.get("Status") or {}
        description = raw.get("Description") or {}
        resources = description.get("Resources") or {}
        manager = raw.get("ManagerStatus") or {}
        environments = per_node.get(node_id, Counter())
        cpus, memory = reserved.get(node_id, (0.0, 0))
        found.append(
            NodeCapacity(
                id=node_id,
                hostname=str(description.get("Hostname", "")),
                role=str(spec.get("Role", "")),
                availability=str(spec.get("Availability", "")),
                state=str(status.get("State", "")),
                address=str(status.get("Addr", "")),
                cpus=int(resources.get("NanoCPUs", 0)) / NANOSECONDS,
                memory_bytes=int(resources.get("MemoryBytes", 0)),
                leader=bool(manager.get("Leader", False)),
                engine_version=str((description.get("Engine") or {}).get("EngineVersion", "")),
                tasks=sum(environments.values()),
                environments=dict(sorted(environments.items())),
                reserved_cpus=cpus,
                reserved_memory_bytes=memory,
            )
        )
    return sorted(found, key=lambda n: (n.role != "manager", n.hostname, n.id))
