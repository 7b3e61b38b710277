"""The compose file as the swarm runtime reads it: what cannot run on a cluster is refused up front."""

from __future__ import annotations

from pathlib import Path

from stagetui.compose.model import ComposeProject
from stagetui.compose.parse import ComposeError, load_compose
from stagetui.compose.sample import packaged_compose
from stagetui.runtimes.base import RuntimeOperationError


def swarm_problems(project: ComposeProject) -> list[str]:
    """Why each part of `project` that a swarm cannot run is refused (empty: it can run)."""
    problems = []
    for spec in project.services.values():
        where = f"services.{spec.name}"
        if spec.build is not None:
            problems.append(
                f"{where}.build: the nodes cannot share a local build; build and push the image (or load "
                "it on every node) and name it in image:"
            )
        shipped = [project.stagetui.data_volume, project.stagetui.config_volume]
        for volume in {v for v in shipped if v is not None}:
            if sum(1 for m in spec.volumes if m.kind == "volume" and m.source == volume) > 1:
                problems.append(
                    f"{where}.volumes: {volume} is mounted more than once; its files are shipped as configs "
                    "to one place per service"
                )
        for mount in spec.volumes:
            if mount.kind == "bind":
                problems.append(
                    f"{where}.volumes: {mount.source}:{mount.target} is a host path, which differs from "
                    "node to node; use a named volume"
                )
        for dependency in spec.depends_on:
            if dependency.condition == "service_completed_successfully":
                problems.append(
                    f"{where}.depends_on.{dependency.service}: Swarm services run until stopped, so none "
                    "ever completes; run one-shot jobs before `up`, or as part of the service"
                )
    return problems


def load_swarm_project(path: Path | None, environ: dict[str, str]) -> ComposeProject:
    """The definition at `path` (None: the packaged sample); RuntimeOperationError naming the file and the
    key when it is bad or asks for what a swarm cannot do."""
    chosen = path or packaged_compose()
    try:
        project = load_compose(chosen, environ)
    except ComposeError as error:
        raise RuntimeOperationError(str(error)) from None
    problems = swarm_problems(project)
    if problems:
        raise RuntimeOperationError(f"{chosen}: " + "; ".join(problems))
    return project
