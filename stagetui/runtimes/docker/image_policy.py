"""Making sure every image an environment needs is on the engine before anything is created.

Sample images are built locally (no registry needed); `build:` services are built from their context;
other images are used when present and pulled when missing, unless the pull policy is "never".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from stagetui.compose.model import ComposeProject, ServiceSpec
from stagetui.runtimes.base import RuntimeOperationError
from stagetui.runtimes.docker.images import SAMPLE_IMAGES, ImageBuildError, ensure_sample_image

Progress = Callable[[float, str], None]


def _present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def _build(client: docker.DockerClient, spec: ServiceSpec) -> None:
    assert spec.build is not None and spec.image is not None
    build = spec.build
    last: dict[str, Any] = {}
    for chunk in client.api.build(
        path=str(build.context),
        dockerfile=build.dockerfile,
        tag=spec.image,
        buildargs=dict(build.args) or None,
        target=build.target,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "error" in chunk:
            raise RuntimeOperationError(
                f"building {spec.image} for service {spec.name}: {chunk['error'].strip()}"
            )
        last = chunk
    if not _present(client, spec.image):
        raise RuntimeOperationError(f"building {spec.image} for service {spec.name} gave no image ({last})")


def _pull(client: docker.DockerClient, spec: ServiceSpec, policy: str) -> None:
    assert spec.image is not None
    if policy == "never":
        raise RuntimeOperationError(
            f"image {spec.image} of service {spec.name} is missing on the engine and runtimes.docker.pull is "
            "never: build or load it first"
        )
    repository, _, tag = (
        spec.image.rpartition(":") if ":" in spec.image.split("/")[-1] else (spec.image, "", "")
    )
    try:
        client.api.pull(repository, tag=tag or "latest")
    except docker.errors.APIError as error:
        raise RuntimeOperationError(
            f"image {spec.image} of service {spec.name} is missing and could not be pulled: "
            f"{str(error.explanation or error).strip()}"
        ) from None


def ensure_images(
    client: docker.DockerClient, project: ComposeProject, pull: str, progress: Progress
) -> None:
    specs = list({s.image: s for s in project.services.values()}.values())
    for index, spec in enumerate(specs):
        assert spec.image is not None
        progress(index / len(specs), f"image {spec.image}")
        if spec.build is not None:
            _build(client, spec)
        elif spec.image in SAMPLE_IMAGES:
            try:
                ensure_sample_image(client, spec.image)
            except ImageBuildError as error:
                raise RuntimeOperationError(f"sample image {spec.image}: {error}") from None
        elif not _present(client, spec.image):
            _pull(client, spec, pull)
    progress(1.0, "images ready")
