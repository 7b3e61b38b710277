"""Changing a running environment on the swarm: scaling a service, rolling a new config out."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import docker

from stagetui.runtimes.docker.engine import engine_errors
from stagetui.runtimes.swarm import naming
from stagetui.runtimes.swarm.inventory import ServiceEntry, list_inventory
from stagetui.runtimes.swarm.rollout import Rollout, engine_now
from stagetui.runtimes.swarm.stack import Stack


def unchanged(spec: Mapping[str, Any]) -> dict[str, Any]:
    """update_service arguments that resend a raw spec as it is (the caller overrides what changes)."""
    return {
        "task_template": spec.get("TaskTemplate"),
        "name": spec.get("Name"),
        "labels": spec.get("Labels"),
        "mode": spec.get("Mode"),
        "update_config": spec.get("UpdateConfig"),
        "rollback_config": spec.get("RollbackConfig"),
        "endpoint_spec": spec.get("EndpointSpec"),
    }


def scale_service(
    client: docker.DockerClient, environment_id: str, entry: ServiceEntry, replicas: int, timeout: float
) -> str:
    """Run `replicas` tasks of the service. Only the replica count of the raw spec changes, so the tasks
    already running keep running (docker-py's Service.scale() resends a spec with defaults filled in,
    which Swarm takes for a change and restarts every task)."""
    since = engine_now(client)
    with engine_errors(f"scaling {entry.service} of {environment_id}"):
        changed = {**unchanged(entry.spec), "mode": {"Replicated": {"Replicas": replicas}}}
        client.api.update_service(entry.id, entry.version, **changed)
    Rollout(client, environment_id, time.monotonic() + timeout).wait_ready({entry.service}, since)
    return f"{entry.service}: {entry.replicas} -> {replicas} replica(s), running"


def roll_config(stack: Stack, timeout: float) -> str:
    """New configs from the workspace, then a rolling update of each service that reads them, as its
    deploy.update says (replica counts kept); the old configs go once no service uses them."""
    client, environment_id = stack.client, stack.env.id
    rollout = Rollout(client, environment_id, time.monotonic() + timeout)
    with engine_errors(f"reading {environment_id}"):
        inventory = list_inventory(client, environment_id)
    config_ids = stack.create_configs()
    touched = []
    since = engine_now(client)
    for entry in inventory.services:
        spec = stack.project.services.get(entry.service)
        if spec is None or not stack.reads_config(spec):
            continue
        request = stack.request(spec, config_ids, entry.replicas)
        with engine_errors(f"updating {entry.service} of {environment_id}"):
            changed = {
                **unchanged(entry.spec),
                "task_template": request.task_template,
                "update_config": request.update_config,
            }
            client.api.update_service(entry.id, entry.version, **changed)
        touched.append((entry, request))
    for entry, request in touched:
        rollout.wait_rolled(entry.id, entry.service, request.task_template, entry.replicas, since)
    with engine_errors(f"removing old configs of {environment_id}"):
        for name, labels in inventory.configs:
            if name not in config_ids and labels.get(naming.ROLE_LABEL) == "config":
                client.api.remove_config(name)
    return f"config rolled out to {', '.join(e.service for e, _ in touched) or 'no service'}"
