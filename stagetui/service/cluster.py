"""Environments on a cluster: its nodes and what runs where, scaling a service, rolling a config out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from stagetui.domain.models import Environment
from stagetui.domain.nodes import NodeCapacity
from stagetui.runtimes.base import Runtime, RuntimeOperationError
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError, OperationFailedError
from stagetui.service.queries import resolve
from stagetui.store.atomic import atomic_write_text

MAX_REPLICAS = 100
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ClusterNodes:
    runtime: str
    nodes: list[NodeCapacity]
    error: str | None = None
    """Why the nodes could not be listed (the manager does not answer, or is no manager)."""


def cluster_runtimes(core: ServiceCore) -> list[str]:
    return sorted(name for name, runtime in core.runtimes.items() if runtime.cluster)


def cluster_nodes(core: ServiceCore, runtime: str | None = None) -> list[ClusterNodes]:
    """The nodes of each cluster runtime (or of one), with the environments running tasks on each."""
    names = [runtime] if runtime else cluster_runtimes(core)
    found = []
    for name in names:
        chosen = core.runtime(name)
        if not chosen.cluster:
            raise BadInputError(
                f"the {name} runtime is not a cluster (clusters: {', '.join(cluster_runtimes(core))})"
            )
        try:
            found.append(ClusterNodes(name, chosen.nodes()))
        except RuntimeOperationError as error:
            found.append(ClusterNodes(name, [], str(error)))
    return found


def _cluster_environment(core: ServiceCore, reference: str) -> tuple[Environment, Runtime]:
    env = resolve(core, reference).environment
    runtime = core.runtime(env.runtime)
    if not runtime.cluster:
        raise BadInputError(
            f"{env.id} runs on the {env.runtime} runtime, which runs each service once; scaling and rolling "
            "updates need a cluster (up --runtime swarm)"
        )
    return env, runtime


def _follow_endpoint(core: ServiceCore, env: Environment, runtime: Runtime) -> None:
    """Record where the environment answers now: its endpoint task may have moved to another node."""
    endpoint = runtime.current_endpoint(env.id)
    if endpoint is None or endpoint == env.endpoint:
        return
    with core.store.transaction():
        current = core.store.environment(env.uid)
        if current is not None:
            current.endpoint = endpoint
            core.store.save_environment(current)


def parse_replicas(assignments: list[str]) -> dict[str, int]:
    """SERVICE=N pairs; BadInputError naming the first bad one."""
    wanted: dict[str, int] = {}
    for text in assignments:
        service, _, count = text.partition("=")
        if not service or not count.isdigit() or not 0 <= int(count) <= MAX_REPLICAS:
            raise BadInputError(
                f"{text!r}: write SERVICE=REPLICAS with 0..{MAX_REPLICAS} replicas, e.g. app=3"
            )
        wanted[service] = int(count)
    return wanted


def scale(core: ServiceCore, reference: str, wanted: dict[str, int]) -> list[str]:
    """Scale services of an environment, one after another; running tasks are left alone."""
    env, runtime = _cluster_environment(core, reference)
    timeout = core.config.runtimes.health_timeout(runtime.name).total_seconds()
    done = []
    for service, replicas in wanted.items():
        try:
            detail = runtime.scale(env.id, service, replicas, timeout)
        except RuntimeOperationError as error:
            raise OperationFailedError(str(error)) from None
        core.audit("scale", env.id, detail, env.id)
        done.append(detail)
    _follow_endpoint(core, env, runtime)
    return done


def reconfigure(core: ServiceCore, reference: str, assignments: list[str], unset: list[str]) -> str:
    """Change variables of an environment's rendered config and roll it out to its running services.
    Bad input changes nothing; values are never written to the audit trail (they may be secrets)."""
    env, runtime = _cluster_environment(core, reference)
    changes: dict[str, str] = {}
    for text in assignments:
        key, equals, value = text.partition("=")
        if not equals or not VARIABLE.match(key):
            raise BadInputError(f"{text!r}: write KEY=VALUE, KEY a variable name (letters, digits, _)")
        changes[key] = value
    for key in unset:
        if not VARIABLE.match(key):
            raise BadInputError(f"{key!r}: not a variable name (letters, digits, _)")
    if not changes and not unset:
        raise BadInputError("nothing to change: give --set KEY=VALUE or --unset KEY")
    workspace = runtime.workspace(env.id)
    try:
        rendered = json.loads(workspace.config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OperationFailedError(f"{env.id}: its rendered config cannot be read: {error}") from None
    section = rendered.setdefault("env", {})
    if not isinstance(section, dict):
        raise OperationFailedError(f"{workspace.config_file}: its env namespace is not a mapping")
    missing = [key for key in unset if key not in section]
    if missing:
        raise BadInputError(f"{env.id}: its config has no {', '.join(missing)} to unset")
    section.update(changes)
    for key in unset:
        del section[key]
    atomic_write_text(workspace.config_file, json.dumps(rendered, indent=2, sort_keys=True))
    timeout = core.config.runtimes.health_timeout(runtime.name).total_seconds()
    keys = ", ".join(sorted([*changes, *unset]))
    try:
        detail = runtime.update_config(env, workspace, timeout)
    except RuntimeOperationError as error:
        core.audit("reconfigure", env.id, f"failed after changing {keys}: {error}", env.id)
        raise OperationFailedError(str(error)) from None
    core.audit("reconfigure", env.id, f"changed {keys}; {detail}", env.id)
    _follow_endpoint(core, env, runtime)
    return detail
