"""Workspace directories, shared by the runtimes: one per environment under a runtime's root, private to
its owner, with the environment's labels in a file so a directory left by a crash is still attributable."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from stagetui.domain.ids import is_valid_id
from stagetui.domain.models import Environment
from stagetui.runtimes.base import (
    RuntimeOperationError,
    Workspace,
    environment_labels,
)
from stagetui.store.atomic import atomic_write_text
from stagetui.store.private import DIRECTORY_MODE, make_private_directory

LABELS_FILE = "labels.json"


def workspace_under(root: Path, environment_id: str, services_data_dir: Path | None = None) -> Workspace:
    """The workspace of an environment under a runtime's root; the id is checked, so no path tricks."""
    if not is_valid_id(environment_id):
        raise RuntimeOperationError(f"not an environment id: {environment_id!r}")
    return Workspace(root / environment_id, services_data_dir)


def create_workspace_directory(workspace: Workspace, env: Environment) -> Workspace:
    """Make the workspace's directories (mode 0700) and write its labels; fails if it exists already."""
    make_private_directory(workspace.root.parent)
    try:
        workspace.root.mkdir(mode=0o700)
    except FileExistsError:
        raise RuntimeOperationError(
            f"{workspace.root} exists already: environment {env.id} is live"
        ) from None
    for directory in (workspace.data_dir, workspace.config_dir, workspace.logs_dir):
        directory.mkdir(mode=DIRECTORY_MODE)
    write_labels(workspace, environment_labels(env))
    return workspace


def write_labels(workspace: Workspace, labels: dict[str, str]) -> None:
    atomic_write_text(workspace.root / LABELS_FILE, json.dumps(labels, indent=2))


def workspace_labels(root: Path) -> dict[str, dict[str, str]]:
    """Every workspace directory under `root` by environment id, with its labels ({} when unreadable)."""
    found: dict[str, dict[str, str]] = {}
    for directory in sorted(root.glob("*")) if root.is_dir() else []:
        if directory.is_dir() and is_valid_id(directory.name):
            labels: dict[str, str] = {}
            with contextlib.suppress(OSError, ValueError):
                labels = json.loads((directory / LABELS_FILE).read_text())
            found[directory.name] = labels
    return found


START_FILE = "start.json"
"""Seconds from the start of the environment until each service was started, for the step's detail."""


def record_start(workspace: Workspace, seconds: dict[str, float]) -> None:
    atomic_write_text(workspace.logs_dir / START_FILE, json.dumps(seconds, indent=2))


def start_summary(workspace: Workspace, verb: str = "started") -> str:
    """ "started a at 0.1s, b at 1.2s" from the recorded start; "" when none was recorded."""
    try:
        seconds = json.loads((workspace.logs_dir / START_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    ordered = sorted(seconds.items(), key=lambda item: item[1])
    return f"{verb} " + ", ".join(f"{service} at {at:.1f}s" for service, at in ordered)
