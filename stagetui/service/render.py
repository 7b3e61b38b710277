"""Render a live environment for another runtime: today, as Kubernetes manifests.

The compose file is the environment's definition whatever runs it, so an environment of the local
runtime renders too: from its runtime's compose file when that runtime has one, else the docker runtime's
(`runtimes.docker.compose`), else the packaged sample. Its configuration is the one rendered into its
workspace; paths under the workspace's data directory become the path the pods mount the data volume on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stagetui.compose.model import ComposeProject
from stagetui.compose.parse import ComposeError, load_compose
from stagetui.compose.sample import packaged_compose
from stagetui.config.model import StagetuiConfig
from stagetui.domain.models import Environment
from stagetui.runtimes.base import RuntimeOperationError, config_variables
from stagetui.runtimes.docker.images import SAMPLE_IMAGES
from stagetui.runtimes.kubernetes.manifests import kubernetes_manifests
from stagetui.service import queries
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError, NotFoundError


@dataclass(frozen=True)
class RenderedEnvironment:
    environment: Environment
    compose_file: Path
    manifests: list[dict[str, object]]
    remarks: tuple[str, ...] = ()
    """How the inputs were adapted (e.g. data paths rewritten), for the output's header."""


def compose_file(config: StagetuiConfig, runtime: str) -> Path:
    """The compose file defining environments of `runtime`."""
    own = getattr(getattr(config.runtimes, runtime, None), "compose", None)
    if isinstance(own, Path):
        return own
    return config.runtimes.docker.compose or packaged_compose()


def render_kubernetes(core: ServiceCore, reference: str) -> RenderedEnvironment:
    """Resolve `reference` as `show` does (id, uid, branch, unique id prefix) and render its manifests.
    NotFoundError for no match or an environment that has ended; BadInputError for a bad compose file."""
    env = queries.resolve(core, reference, include_history=True).environment
    if not env.status.is_live:
        raise NotFoundError(f"{env.id} is {env.status.value}: only a live environment can be rendered")
    path = compose_file(core.config, env.runtime)
    try:
        project = load_compose(path, core.environ)
    except ComposeError as error:
        raise BadInputError(str(error)) from None
    variables, config_json, remarks = _configuration(core, env, project)
    manifests = kubernetes_manifests(
        project,
        env,
        variables,
        config_json,
        secret_patterns=core.config.drift.secret_patterns,
        local_images=SAMPLE_IMAGES,
    )
    return RenderedEnvironment(env, path, manifests, remarks)


def _configuration(
    core: ServiceCore, env: Environment, project: ComposeProject
) -> tuple[dict[str, str], str | None, tuple[str, ...]]:
    """The rendered config's variables and config.json text (None: there is none), as the pods see
    them, and what was changed to get there."""
    runtime = core.runtimes.get(env.runtime)
    try:
        workspace = runtime.workspace(env.id) if runtime is not None else None
    except RuntimeOperationError:
        workspace = None
    if workspace is None or not workspace.config_file.is_file():
        return {}, None, ()
    variables = config_variables(workspace.config_file)
    text = workspace.config_file.read_text(encoding="utf-8")
    mount = _data_mount(project)
    host = str(workspace.data_dir)
    if workspace.services_data_dir is not None or mount is None or host not in text:
        return variables, text, ()
    variables = {key: value.replace(host, mount) for key, value in variables.items()}
    remark = f"paths under {host} (the environment's data on this machine) rewritten to {mount}"
    return variables, _rewritten(text, host, mount), (remark,)


def _data_mount(project: ComposeProject) -> str | None:
    """Where the config service mounts the data volume."""
    volume = project.stagetui.data_volume
    mounts = project.services[project.config_service].volumes
    return next((m.target for m in mounts if m.kind == "volume" and volume and m.source == volume), None)


def _rewritten(text: str, old: str, new: str) -> str:
    try:
        tree = json.loads(text)
    except ValueError:
        return text

    def walk(node: object) -> object:
        if isinstance(node, str):
            return node.replace(old, new)
        if isinstance(node, Mapping):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return json.dumps(walk(tree), indent=2) + "\n"
