"""A service's `deploy:` section: replicas, placement, rolling updates and resource limits."""

from __future__ import annotations

import math
import re
from typing import Literal, cast

from stagetui.compose.model import DeploySpec, UpdateConfig
from stagetui.compose.unsupported import NOT_YET
from stagetui.compose.values import Node, describe

DEPLOY_KEYS = ("endpoint_mode", "labels", "placement", "replicas", "resources", "update_config")
DEPLOY_REFUSED = {
    "mode": f"{NOT_YET}: environments are replicated services (global mode would put one on every node)",
    **dict.fromkeys(("restart_policy", "rollback_config"), NOT_YET),
}
PLACEMENT_KEYS = ("constraints", "max_replicas_per_node", "preferences")
UPDATE_KEYS = ("delay", "failure_action", "monitor", "order", "parallelism")
RESOURCES_KEYS = ("limits",)
LIMITS_KEYS = ("cpus", "memory")
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_deploy(node: Node) -> DeploySpec:
    from stagetui.compose.service import parse_labels  # the service module imports this one

    fields = node.fields(DEPLOY_KEYS, DEPLOY_REFUSED)
    placement = fields["placement"].fields(PLACEMENT_KEYS) if "placement" in fields else {}
    limits = _limits(fields["resources"]) if "resources" in fields else {}
    mode = _choice(fields["endpoint_mode"], ("vip", "dnsrr")) if "endpoint_mode" in fields else None
    constraints = placement["constraints"].sequence() if "constraints" in placement else []
    return DeploySpec(
        replicas=fields["replicas"].integer(0, 1000) if "replicas" in fields else 1,
        endpoint_mode=cast(Literal["vip", "dnsrr"] | None, mode),
        constraints=tuple(constraint.text() for constraint in constraints),
        max_replicas_per_node=(
            placement["max_replicas_per_node"].integer(1) if "max_replicas_per_node" in placement else None
        ),
        spread=_spread(placement["preferences"]) if "preferences" in placement else (),
        update=_update(fields["update_config"]) if "update_config" in fields else UpdateConfig(),
        cpu_limit=_cpus(limits["cpus"]) if "cpus" in limits else None,
        memory_limit=_memory(limits["memory"]) if "memory" in limits else None,
        labels=parse_labels(fields["labels"]) if "labels" in fields else {},
    )


def _choice(node: Node, allowed: tuple[str, ...]) -> str:
    value = node.text()
    if value not in allowed:
        raise node.error(f"must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _spread(node: Node) -> tuple[str, ...]:
    spread = []
    for item in node.sequence():
        preference = item.fields(("spread",))
        if "spread" not in preference:
            raise item.error("a placement preference is written {spread: node.labels.NAME}")
        spread.append(preference["spread"].text())
    return tuple(spread)


def _update(node: Node) -> UpdateConfig:
    fields = node.fields(UPDATE_KEYS)
    order = _choice(fields["order"], ("stop-first", "start-first")) if "order" in fields else "stop-first"
    action = (
        _choice(fields["failure_action"], ("pause", "continue", "rollback"))
        if "failure_action" in fields
        else "pause"
    )
    return UpdateConfig(
        parallelism=fields["parallelism"].integer(0) if "parallelism" in fields else 1,
        delay=fields["delay"].duration() if "delay" in fields else 0.0,
        monitor=fields["monitor"].duration() if "monitor" in fields else 1.0,
        order=cast(Literal["stop-first", "start-first"], order),
        failure_action=cast(Literal["pause", "continue", "rollback"], action),
    )


def _limits(node: Node) -> dict[str, Node]:
    resources = node.fields(RESOURCES_KEYS, {"reservations": NOT_YET})
    return (
        resources["limits"].fields(LIMITS_KEYS, {"pids": NOT_YET, "devices": NOT_YET})
        if "limits" in resources
        else {}
    )


def _cpus(node: Node) -> float:
    try:
        cpus = float(node.scalar_text())
    except ValueError:
        raise node.error(f"must be a number of CPUs such as 0.5 (got {describe(node.value)})") from None
    if not math.isfinite(cpus):  # `.inf` and `.nan` are YAML floats, and no number of CPUs
        raise node.error(f"must be a number of CPUs such as 0.5 (got {describe(node.value)})")
    if cpus <= 0:
        raise node.error("must be more than 0")
    return cpus


def _memory(node: Node) -> int:
    match = _MEMORY.fullmatch(node.scalar_text().strip())
    amount_text = match.group(1) if match else ""
    if match is None or len(amount_text) > 30:  # longer overflows a float: no machine has that much
        raise node.error(f"must be an amount of memory such as 256M or 1G (got {describe(node.value)})")
    amount = int(float(amount_text) * _MEMORY_UNITS[match.group(2).lower()])
    if amount < 6 * 1024**2:
        raise node.error("must be at least 6M (the engine's minimum)")
    return amount
