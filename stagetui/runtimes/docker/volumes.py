"""Filling an environment's named volume with files from its workspace (seed data, rendered config).

The engine writes the files itself, through a container that is created with the volume mounted and never
started: no image needs a shell or any tool, and nothing runs.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import docker
import docker.errors
from docker.types import Mount

from stagetui.runtimes.docker import naming

_LOADER_TARGET = "/stagetui-fill"
COMPLETE_MARKER = ".stagetui-complete"
"""Written last into a shared volume: a volume without it was cut short while being filled."""


def directory_tar(directory: Path) -> bytes:
    """The directory's contents (not the directory itself) as an uncompressed tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(directory.iterdir()):
            archive.add(path, arcname=path.name, filter=_readable_in_container)
    return buffer.getvalue()


def _readable_in_container(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """The state directory keeps its copies owner-only; in the volume a service may run as another user
    (compose `user:`), so it gets them readable, as before the state directory was made private."""
    member.mode |= 0o055 if member.isdir() or member.mode & 0o100 else 0o044
    return member


def _marker_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(tarfile.TarInfo(COMPLETE_MARKER), io.BytesIO(b""))
    return buffer.getvalue()


@contextmanager
def _loader(client: docker.DockerClient, volume: str, image: str, labels: Mapping[str, str]) -> Iterator[str]:
    """A container that mounts `volume` and is never started: the engine reads and writes the volume
    through it, so `image` can be any image present (no shell or tool needed)."""
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
        yield str(loader["Id"])
    finally:
        api.remove_container(loader["Id"], force=True)


def fill_volume(
    client: docker.DockerClient,
    volume: str,
    directory: Path,
    image: str,
    labels: Mapping[str, str],
    mark_complete: bool = False,
) -> int:
    """Copy the contents of `directory` into `volume` and return how many bytes went in; with
    mark_complete, the completion marker goes in last."""
    payload = directory_tar(directory)
    with _loader(client, volume, image, labels) as loader:
        client.api.put_archive(loader, _LOADER_TARGET, payload)
        if mark_complete:
            client.api.put_archive(loader, _LOADER_TARGET, _marker_tar())
    return len(payload)


def is_complete(client: docker.DockerClient, volume: str, image: str, labels: Mapping[str, str]) -> bool:
    """Whether a volume filled with mark_complete was filled to the end."""
    with _loader(client, volume, image, labels) as loader:
        try:
            client.api.get_archive(loader, f"{_LOADER_TARGET}/{COMPLETE_MARKER}")
        except docker.errors.NotFound:
            return False
    return True
