"""The Docker Engine for integration tests: the one DOCKER_HOST names (`make test` starts a private dockerd
and sets it, see tests/with_dockerd.py), the sample images built on it once per session, and a look at what
carries stagetui labels, for asserting that nothing was left behind.

Without an engine the docker tests skip, unless STAGETUI_REQUIRE_DOCKER=1 (set by the wrapper once it has
started one): then a missing engine or image is a failure, so a skip never passes for a green CI run.
The fixtures are registered for every module under tests/integration by that directory's conftest.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import NoReturn

import docker
import pytest

from stagetui.runtimes.docker.images import SAMPLE_IMAGES, ImageBuildError, ensure_sample_image

NO_ENGINE = "no Docker engine: set DOCKER_HOST or run make test, which starts one"


def docker_required() -> bool:
    return os.environ.get("STAGETUI_REQUIRE_DOCKER") == "1"


def _unavailable(reason: str) -> NoReturn:
    if docker_required():
        pytest.fail(f"{reason} (STAGETUI_REQUIRE_DOCKER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client for the engine the environment names; skips (or fails, see above) when none answers."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as error:  # the SDK lets requests' and socket errors through unwrapped
        _unavailable(f"{NO_ENGINE} ({os.environ.get('DOCKER_HOST', 'default socket')}: {error})")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def sample_images(docker_client: docker.DockerClient) -> None:
    """Both sample images, current on the session's engine (the Python rootfs comes from the per-machine
    cache, made by debootstrap the first time)."""
    for name in sorted(SAMPLE_IMAGES):
        started = time.monotonic()
        try:
            built = ensure_sample_image(docker_client, name)
        except ImageBuildError as error:
            _unavailable(f"sample image {name} cannot be built: {error}")
        print(f"sample image {name}: {'built' if built else 'current'} in {time.monotonic() - started:.1f} s")


def labelled_resources(client: docker.DockerClient, label: str = "stagetui.env") -> dict[str, list[str]]:
    """Names of the containers (stopped ones too), networks and volumes carrying the label key."""
    filters = {"label": label}
    return {
        "containers": sorted(c.name for c in client.containers.list(all=True, filters=filters)),
        "networks": sorted(n.name for n in client.networks.list(filters=filters)),
        "volumes": sorted(v.name for v in client.volumes.list(filters=filters)),
    }
