"""Filling an environment's named volume with files from its workspace (seed data, rendered config).

The engine writes the files itself, through a container that is created with the volume mounted and never
started: no image needs a shell or any tool, and nothing runs.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

import docker
from docker.types import Mount

from stagetui.runtimes.docker import naming

_LOADER_TARGET = "/stagetui-fill"


def directory_tar(directory: Path) -> bytes:
    """The directory's contents (not the directory itself) as an uncompressed tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(directory.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def fill_volume(
    client: docker.DockerClient, volume: str, directory: Path, image: str, labels: Mapping[str, str]
) -> int:
    """Copy the contents of `directory` into `volume` and return how many bytes went in. `image` can be
    any image present (the loader container is never started)."""
    payload = directory_tar(directory)
    api = client.api
    loader = api.create_container(
        image,
        command=["true"],
        labels={**labels, naming.ROLE_LABEL: "loader"},
        host_config=api.create_host_config(
            mounts=[Mount(target=_LOADER_TARGET, source=volume, type="volume")]
        ),
        network_disabled=True,
    )
    try:
        api.put_archive(loader["Id"], _LOADER_TARGET, payload)
    finally:
        api.remove_container(loader["Id"], force=True)
    return len(payload)
