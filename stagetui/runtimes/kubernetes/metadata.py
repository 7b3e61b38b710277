"""The environment's labels and annotations as Kubernetes takes them, and object metadata built on them.

stagetui's labels (`stagetui.env`, `stagetui.branch`, ...) become `stagetui.io/env`, `stagetui.io/branch`,
...; a value the label grammar refuses (a branch with '/', an e-mail owner) is sanitised in the label and
kept verbatim in an annotation of the same key. Timestamps are annotations only, with the TTL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stagetui.domain.models import Environment
from stagetui.runtimes.base import LABEL_PREFIX, environment_labels
from stagetui.runtimes.kubernetes.names import key_name, label_value

Json = dict[str, Any]
"""A manifest, or a part of one, as plain JSON-able data."""

DOMAIN = "stagetui.io"
ENV_LABEL = f"{DOMAIN}/env"
SERVICE_LABEL = f"{DOMAIN}/service"
"""The compose service a Deployment, its pods and its Service belong to."""
CREATED_AT = f"{DOMAIN}/created-at"
EXPIRES_AT = f"{DOMAIN}/expires-at"
"""ISO time after which the environment may be removed: the TTL's authority."""
TTL_SECONDS = f"{DOMAIN}/ttl-seconds"
"""The environment's lifetime (expires-at minus created-at), for TTL controllers counting from creation."""
NOT_RENDERED = f"{DOMAIN}/not-rendered"
"""One line per part of the definition that could not be expressed, or only approximately."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "stagetui"}
_TIMESTAMPS = {"created": CREATED_AT, "expires": EXPIRES_AT}


@dataclass(frozen=True)
class EnvironmentMetadata:
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]

    def selector(self, service: str) -> dict[str, str]:
        """The labels that pick the pods of one compose service (its name as a label value)."""
        return {ENV_LABEL: self.labels[ENV_LABEL], SERVICE_LABEL: label_value(service)}

    def object_meta(
        self,
        name: str,
        *,
        service: str | None = None,
        annotations: Mapping[str, str] | None = None,
        notes: Sequence[str] = (),
        namespaced: bool = True,
    ) -> Json:
        """metadata of an object of this environment: its labels (and the service's), the environment's
        annotations, then `annotations`, and the not-rendered list when there are `notes`."""
        labels = {**self.labels, **(self.selector(service) if service is not None else {})}
        merged = {**self.annotations, **(annotations or {})}
        if notes:
            merged[NOT_RENDERED] = "\n".join(notes)
        meta: Json = {"name": name}
        if namespaced:
            meta["namespace"] = self.namespace
        meta["labels"] = labels
        meta["annotations"] = merged
        return meta


def environment_metadata(env: Environment, namespace: str) -> EnvironmentMetadata:
    """Labels and annotations every object of `env` carries, from `environment_labels(env)`."""
    labels = dict(MANAGED_BY)
    lifetime = max(0, int((env.expires_at - env.created_at).total_seconds()))
    annotations = {TTL_SECONDS: str(lifetime)}
    for key, value in environment_labels(env).items():
        name = key.removeprefix(LABEL_PREFIX)
        if name in _TIMESTAMPS:
            annotations[_TIMESTAMPS[name]] = value
            continue
        qualified = f"{DOMAIN}/{key_name(name)}"
        labels[qualified] = label_value(value)
        if labels[qualified] != value:
            annotations[qualified] = value
    return EnvironmentMetadata(namespace, labels, dict(sorted(annotations.items())))
