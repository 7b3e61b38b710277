"""The nodes of a cluster and what runs on them: the capacity view's data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeCapacity:
    """One node as the orchestrator reports it, with the environments that have tasks running on it."""

    id: str
    hostname: str
    role: str
    """manager or worker."""
    availability: str
    """active (takes tasks), pause (keeps its tasks, takes no new ones) or drain (its tasks move away)."""
    state: str
    """ready, down, unknown, disconnected."""
    address: str
    cpus: float
    memory_bytes: int
    leader: bool = False
    engine_version: str = ""
    tasks: int = 0
    """Running tasks of stagetui environments."""
    environments: dict[str, int] = field(default_factory=dict)
    """Environment id -> its running tasks here."""
    reserved_cpus: float = 0.0
    """CPU limits of those tasks, summed."""
    reserved_memory_bytes: int = 0

    @property
    def schedulable(self) -> bool:
        return self.availability == "active" and self.state == "ready"
