"""What a runtime tells about one service of an environment right now."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceStatus:
    """One service of an environment as its runtime sees it right now."""

    name: str
    state: str
    """running, exited, created, ..."""
    health: str | None = None
    """healthy, unhealthy, starting; None without a healthcheck."""
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    restarts: int = 0
    ports: tuple[str, ...] = ()
    """Published addresses, e.g. 127.0.0.1:49153->8080/tcp."""
    image: str = ""
