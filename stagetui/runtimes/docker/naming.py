"""Names and labels of an environment's resources on the engine.

Names are derived from the environment id, so two environments never collide and a teammate's `up` of the
same branch meets the existing environment instead of a half-made twin; labels are what teardown, gc and
discovery search by.
"""

from __future__ import annotations

import hashlib

from stagetui.runtimes.base import LABEL_PREFIX

ENV_LABEL = f"{LABEL_PREFIX}env"
SERVICE_LABEL = f"{LABEL_PREFIX}service"
ROLE_LABEL = f"{LABEL_PREFIX}role"
"""What a resource is for: service, network, volume, seed (a short-lived loader container)."""


def container_name(environment_id: str, service: str) -> str:
    return f"stagetui-{environment_id}-{service}"


def network_name(environment_id: str, network: str | None = None) -> str:
    """The environment's default network, or one the compose file declares."""
    return f"stagetui-{environment_id}" if network is None else f"stagetui-{environment_id}-{network}"


def volume_name(environment_id: str, volume: str) -> str:
    return f"stagetui-{environment_id}-{volume}"


CREATED_LABEL = f"{LABEL_PREFIX}created"
SEED_LABEL = f"{LABEL_PREFIX}seed"
"""On a shared seed volume: the identity of the data in it (it belongs to no environment)."""


def seed_volume_name(identity: str) -> str:
    return f"stagetui-seed-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def environment_filter(environment_id: str | None = None) -> dict[str, str]:
    """The engine's list filter: every stagetui resource, or those of one environment."""
    return {"label": ENV_LABEL if environment_id is None else f"{ENV_LABEL}={environment_id}"}
