"""Names of an environment's Swarm objects: services, its overlay network, configs.

Services and the network are named like the docker runtime's containers and networks (derived from the
environment id, so two environments never collide); configs carry a digest of their content, because a
Swarm config cannot change: new content is a new config, which is what makes a rolling update.
"""

from __future__ import annotations

import hashlib

from stagetui.runtimes.docker.naming import ENV_LABEL, ROLE_LABEL, SERVICE_LABEL, environment_filter

__all__ = [
    "ENV_LABEL",
    "ROLE_LABEL",
    "SERVICE_LABEL",
    "config_name",
    "environment_filter",
    "fit",
    "network_name",
    "service_name",
]


MAX_NAME = 63
"""Swarm names services like DNS labels; configs and networks get the same limit here."""


def fit(name: str) -> str:
    """`name`, or when too long its start and a digest of all of it: still unique, still readable.
    Nothing is found by name (labels are searched), so a shortened name loses nothing."""
    if len(name) <= MAX_NAME:
        return name
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def service_name(environment_id: str, service: str) -> str:
    return fit(f"stagetui-{environment_id}-{service}")


def network_name(environment_id: str, network: str | None = None) -> str:
    """The environment's default attachable overlay network, or one the compose file declares: services
    find each other there by the names the compose file gives them (network aliases)."""
    suffix = "" if network is None else f"-{network}"
    return fit(f"stagetui-{environment_id}{suffix}")


def config_name(environment_id: str, kind: str, digest: str, index: int) -> str:
    """A config holding part `index` of the environment's `kind` files ("data" or "config") whose content
    hashes to `digest`."""
    return fit(f"stagetui-{environment_id}-{kind}-{digest[:12]}-{index}")
