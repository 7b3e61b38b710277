"""Shared read-only seed volumes: environments whose data is the same golden snapshot mount one volume,
filled once, instead of a copy each. A lock file per volume (under the runtime's root) keeps two fills,
or a fill and gc's removal, from meeting."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

import docker
import docker.errors

from stagetui.runtimes.base import Workspace
from stagetui.runtimes.docker import naming
from stagetui.runtimes.docker.volumes import fill_volume, is_complete
from stagetui.store.lock import StateLock


def data_identity(workspace: Workspace) -> str | None:
    """What the workspace's data is a copy of (written by the strategy), or None when it is its own."""
    try:
        return workspace.data_identity_file.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _lock(locks: Path, name: str) -> StateLock:
    return StateLock(locks / f"{name}.lock", timeout=600)


def seed_volume(client: docker.DockerClient, locks: Path, identity: str, directory: Path, image: str) -> str:
    """The shared volume holding the data of `identity`, filled from `directory` by the first environment
    that needs it; returns its name."""
    name = naming.seed_volume_name(identity)
    labels = {
        naming.SEED_LABEL: identity,
        naming.ROLE_LABEL: "seed",
        naming.CREATED_LABEL: datetime.now(UTC).isoformat(),
    }
    with _lock(locks, name).hold():
        # A loader left by a fill that was cut short keeps the volume in use: it goes first.
        for leftover in client.api.containers(all=True, filters={"volume": name, "label": naming.SEED_LABEL}):
            client.api.remove_container(leftover["Id"], force=True)
        present = client.api.volumes(filters={"name": name}).get("Volumes") or []
        if any(v["Name"] == name for v in present):
            if is_complete(client, name, image, labels):
                return name
            # Cut short by a crash while filling: nothing can be using it, fill it anew.
            client.api.remove_volume(name, force=True)
        client.api.create_volume(name, labels=labels)
        fill_volume(client, name, directory, image, labels, mark_complete=True)
    return name


def remove_unused(client: docker.DockerClient, locks: Path, wanted: set[str], dry_run: bool) -> list[str]:
    """Seed volumes no container mounts, except those in `wanted` (an environment being made is about
    to mount them); returns what was (or, with dry_run, would be) removed."""
    removed = []
    unused = client.api.volumes(filters={"label": naming.SEED_LABEL, "dangling": True}).get("Volumes")
    for name in sorted(v["Name"] for v in unused or []):
        if name in wanted:
            continue
        if not dry_run:
            # Under the seed's lock, so a fill in progress is not removed under it.
            with (
                _lock(locks, name).hold(),
                contextlib.suppress(docker.errors.NotFound, docker.errors.APIError),
            ):
                client.api.remove_volume(name)
        removed.append(f"volume {name}")
    return removed
