"""Where stagetui keeps its state: the store, environments, golden snapshots, the sample production."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stagetui.config.model import StagetuiConfig

STATE_DIR_ENV = "STAGETUI_STATE_DIR"


@dataclass(frozen=True)
class StatePaths:
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def environments(self) -> Path:
        return self.root / "environments"

    @property
    def docker_workspaces(self) -> Path:
        """Workspaces (data copy, rendered config) of environments on the docker runtime."""
        return self.root / "docker"

    @property
    def swarm_workspaces(self) -> Path:
        """Workspaces (data copy, rendered config) of environments on the swarm runtime."""
        return self.root / "swarm"

    @property
    def aws_workspaces(self) -> Path:
        """Workspaces (labels, the rendered config) of environments on the aws runtime."""
        return self.root / "aws"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def full_golden(self) -> Path:
        """The full clone's golden copy (PostgreSQL), kept in step with production."""
        return self.root / "golden-full"

    @property
    def sample(self) -> Path:
        return self.root / "sample"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def locks(self) -> Path:
        return self.root / "locks"


def resolve_state_dir(config: StagetuiConfig, environ: Mapping[str, str] | None = None) -> StatePaths:
    """$STAGETUI_STATE_DIR, else the config's state_dir, else $XDG_STATE_HOME/stagetui (~/.local/state)."""
    environ = os.environ if environ is None else environ
    if environ.get(STATE_DIR_ENV):
        return StatePaths(Path(environ[STATE_DIR_ENV]).expanduser().resolve())
    if config.state_dir is not None:
        return StatePaths(config.state_dir)
    xdg = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return StatePaths(Path(xdg) / "stagetui")
