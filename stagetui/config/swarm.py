"""The `runtimes.swarm` section: which Swarm manager environments go to, and how they are placed there."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from stagetui.config.sections import PositiveDuration, Section


class SwarmRuntimeConfig(Section):
    compose: Path | None = None
    """Compose file defining an environment's services; its `deploy:` sections give replicas, placement
    constraints, limits and rolling-update settings. Unset: the docker runtime's compose file, else the
    sample definition."""
    host: str | None = None
    """Address of a Swarm manager's engine, e.g. unix:///run/docker.sock or tcp://manager:2376. Unset:
    $DOCKER_HOST, else the engine's default socket."""
    endpoint_mode: Literal["auto", "vip", "dnsrr"] = "auto"
    """How services are found by name: vip (a virtual IP and the routing mesh, needs IPVS in the nodes'
    kernels) or dnsrr (DNS round-robin over the tasks, ports published in host mode on the node running
    them). auto: vip when this machine's kernel has IPVS and the manager is local, else dnsrr. A service's
    own deploy.endpoint_mode wins."""
    health_timeout: PositiveDuration = timedelta(seconds=120)
    """How long an environment's services may take until every task runs and passes its healthcheck."""
    stop_timeout: PositiveDuration = timedelta(seconds=2)
    """Grace period of a task on teardown, scale-down or update before it is killed (a service's
    stop_grace_period wins)."""
    api_timeout: PositiveDuration = timedelta(seconds=30)
    """Timeout of one call to the manager's API."""
    max_data_size: int = Field(default=64 * 1024 * 1024, gt=0)
    """Largest data directory (bytes) shipped to the nodes. The data travels as Swarm configs of at most
    500 KB each, joined when a task starts; bigger data belongs on a database server the nodes reach
    (data.postgres)."""
