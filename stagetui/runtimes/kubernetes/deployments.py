"""One Deployment per compose service: replicas, rolling updates, placement and the pod template."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from stagetui.compose.model import ComposeProject, ServiceSpec, UpdateConfig
from stagetui.runtimes.kubernetes.configuration import Configuration
from stagetui.runtimes.kubernetes.metadata import EnvironmentMetadata, Json
from stagetui.runtimes.kubernetes.names import is_qualified_key
from stagetui.runtimes.kubernetes.placement import placement
from stagetui.runtimes.kubernetes.pods import container


def rolling_update(update: UpdateConfig) -> tuple[Json, list[str]]:
    """start-first starts new pods before old ones stop (maxSurge), stop-first the reverse
    (maxUnavailable), `parallelism` at a time (0: all at once)."""
    step: int | str = update.parallelism or "100%"
    surge, unavailable = (step, 0) if update.order == "start-first" else (0, step)
    strategy: Json = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }
    notes = []
    if update.delay > 0:
        notes.append(
            f"update_config delay {update.delay:g}s: as minReadySeconds (a new pod counts as available "
            "that long after it is ready), not a pause between batches"
        )
    if update.failure_action == "rollback":
        notes.append(
            "update_config failure_action rollback: a failed rollout stops; undo it with kubectl rollout undo"
        )
    elif update.failure_action == "continue":
        notes.append("update_config failure_action continue: a rollout stops at a pod that fails")
    return strategy, notes


def _dependencies(spec: ServiceSpec) -> list[str]:
    return [
        f"depends_on {dependency.service} ({dependency.condition}): Kubernetes starts every Deployment at "
        f"once; {spec.name} must retry until {dependency.service} is ready"
        for dependency in spec.depends_on
    ]


def _own_annotations(labels: dict[str, str], what: str, notes: list[str]) -> dict[str, str]:
    """Compose labels as annotations (any value fits there); keys Kubernetes refuses are noted."""
    kept = {}
    for key, value in labels.items():
        if is_qualified_key(key):
            kept[key] = value
        else:
            notes.append(f"{what} {key!r}: not a valid Kubernetes annotation key")
    return kept


def deployment(
    project: ComposeProject,
    spec: ServiceSpec,
    name: str,
    meta: EnvironmentMetadata,
    config: Configuration,
    local_images: Collection[str],
    extra_notes: Sequence[str] = (),
) -> Json:
    parts = container(project, spec, name, config.env[spec.name], config.config_volume(), local_images)
    selector = meta.selector(spec.name)
    scheduling, placement_notes = placement(spec.deploy, selector)
    strategy, update_notes = rolling_update(spec.deploy.update)
    notes = [*config.notes.get(spec.name, []), *parts.notes, *placement_notes, *update_notes]
    notes += [*_dependencies(spec), *extra_notes]
    pod_annotations = _own_annotations(spec.labels, "label", notes)
    own = _own_annotations(spec.deploy.labels, "deploy label", notes)
    pod: Json = {
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "containers": [parts.container],
        **scheduling,
    }
    if parts.volumes:
        pod["volumes"] = [{"name": volume, **source} for volume, source in parts.volumes.items()]
    if spec.stop_grace_period is not None:
        pod["terminationGracePeriodSeconds"] = math.ceil(spec.stop_grace_period)
    template_meta: Json = {"labels": {**meta.labels, **selector}}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    spec_body: Json = {
        "replicas": spec.deploy.replicas,
        "selector": {"matchLabels": selector},
        "strategy": strategy,
        "template": {"metadata": template_meta, "spec": pod},
    }
    if spec.deploy.update.delay > 0:
        spec_body["minReadySeconds"] = math.ceil(spec.deploy.update.delay)
    annotations = {**own, **parts.annotations}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta.object_meta(name, service=spec.name, annotations=annotations, notes=notes),
        "spec": spec_body,
    }
