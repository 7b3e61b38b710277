"""An environment as Kubernetes manifests: its Namespace, config objects, Services and Deployments, in
the order `kubectl apply` needs them. Pure: the caller reads the compose file and the rendered config.

Every object carries the environment's labels and TTL annotations (see `metadata`); what the compose
definition says that Kubernetes cannot (or can only approximately) is listed in the object's
`stagetui.io/not-rendered` annotation, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from stagetui.compose.model import ComposeProject
from stagetui.domain.models import Environment
from stagetui.runtimes.kubernetes.configuration import configuration
from stagetui.runtimes.kubernetes.deployments import deployment
from stagetui.runtimes.kubernetes.metadata import (
    DOMAIN,
    NOT_RENDERED,
    EnvironmentMetadata,
    Json,
    environment_metadata,
)
from stagetui.runtimes.kubernetes.names import dns_label, service_names
from stagetui.runtimes.kubernetes.services import service, unreachable_note

ENDPOINT = f"{DOMAIN}/endpoint"
"""On the Namespace: the URL inside the cluster that answers stagetui's health check."""
COMPOSE_PROJECT = f"{DOMAIN}/compose-project"
COMPOSE_FILE = f"{DOMAIN}/compose-file"


def namespace_name(env: Environment) -> str:
    """The environment id, which is a DNS-1123 label already; anything else is sanitised."""
    return dns_label(env.id)


def kubernetes_manifests(
    project: ComposeProject,
    env: Environment,
    variables: Mapping[str, str],
    config_json_text: str | None,
    *,
    secret_patterns: Sequence[str] = (),
    local_images: Collection[str] = (),
) -> list[dict[str, object]]:
    """The manifests of `env` defined by `project`, with `variables` (the rendered config's `env`) and
    `config_json_text` (its config.json; None: none to mount). `secret_patterns` are the config's extra
    secret key patterns; `local_images` images only this machine has (noted: the cluster needs them)."""
    meta = environment_metadata(env, namespace_name(env))
    names = service_names(project.services)
    config = configuration(project, env.id, variables, config_json_text, secret_patterns)
    services: list[Json] = []
    deployments: list[Json] = []
    for compose_name, spec in project.services.items():
        name = names[compose_name]
        notes = (
            [] if name == compose_name else [f"name: reachable as {name} (not a DNS-1035 label as written)"]
        )
        exposed = service(spec, name, meta)
        if exposed is None:
            notes.append(unreachable_note(spec))
        else:
            services.append(exposed)
        deployments.append(deployment(project, spec, name, meta, config, local_images, notes))
    return [
        _namespace(project, meta, names, config_json_text is None),
        *config.objects(meta),
        *services,
        *deployments,
    ]


def not_rendered(manifests: Sequence[Mapping[str, object]]) -> list[str]:
    """Every not-rendered note of `manifests`, as "Kind/name: note"."""
    found = []
    for manifest in manifests:
        metadata = manifest.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        notes = annotations.get(NOT_RENDERED) if isinstance(annotations, dict) else None
        if isinstance(notes, str) and isinstance(metadata, dict):
            found += [f"{manifest.get('kind')}/{metadata.get('name')}: {note}" for note in notes.splitlines()]
    return found


def _namespace(
    project: ComposeProject, meta: EnvironmentMetadata, names: Mapping[str, str], no_config: bool
) -> Json:
    endpoint = project.stagetui.endpoint
    annotations = {
        COMPOSE_PROJECT: project.name,
        COMPOSE_FILE: str(project.path),
        ENDPOINT: f"http://{names[endpoint.service]}:{endpoint.port}{endpoint.health_path}",
    }
    notes = []
    if project.networks:
        notes.append(
            f"networks {', '.join(project.networks)}: one flat pod network (a NetworkPolicy would isolate)"
        )
    if no_config:
        notes.append("config: the environment has no rendered config.json, so none is mounted")
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta.object_meta(meta.namespace, annotations=annotations, notes=notes, namespaced=False),
    }
