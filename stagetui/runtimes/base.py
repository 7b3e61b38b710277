"""The runtime interface: where an environment runs. Strategies decide what goes in; runtimes run it.

Every resource a runtime creates carries the environment's labels, so `discover()` can find environments
(and leftovers after a crash) from the runtime itself: the runtime is the source of truth for what exists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from stagetui.domain.models import Environment

LABEL_PREFIX = "stagetui."


def environment_labels(env: Environment) -> dict[str, str]:
    """The label set every resource of `env` carries."""
    return {
        f"{LABEL_PREFIX}env": env.id,
        f"{LABEL_PREFIX}uid": env.uid,
        f"{LABEL_PREFIX}branch": env.branch,
        f"{LABEL_PREFIX}strategy": env.strategy.value,
        f"{LABEL_PREFIX}owner": env.owner,
        f"{LABEL_PREFIX}created": env.created_at.isoformat(),
        f"{LABEL_PREFIX}expires": env.expires_at.isoformat(),
    }


@dataclass(frozen=True)
class Workspace:
    """Where a strategy puts an environment's data and rendered config before its services start."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def database(self) -> Path:
        return self.data_dir / "app.db"

    @property
    def password_file(self) -> Path:
        """A .pgpass file (mode 0600) when the environment's database server needs a password."""
        return self.root / "pgpass"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"


@dataclass(frozen=True)
class DiscoveredEnvironment:
    """An environment as the runtime sees it, found by its labels."""

    environment_id: str
    labels: dict[str, str]
    running: bool
    resources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def uid(self) -> str | None:
        return self.labels.get(f"{LABEL_PREFIX}uid")


class RuntimeOperationError(Exception):
    """A runtime operation failed; the message says what and where."""


class Runtime(ABC):
    name: str

    @abstractmethod
    def create_workspace(self, env: Environment) -> Workspace:
        """Create the labelled place the environment lives in. Fails if it exists already."""

    @abstractmethod
    def workspace(self, environment_id: str) -> Workspace:
        """The workspace of an existing environment."""

    @abstractmethod
    def start_services(self, env: Environment, workspace: Workspace, timeout: float) -> str:
        """Start the environment's services; return the endpoint URL once they listen."""

    @abstractmethod
    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        """Block until the health check passes; return a short detail. RuntimeOperationError on timeout."""

    @abstractmethod
    def is_running(self, environment_id: str) -> bool:
        """True when the environment's services are up."""

    @abstractmethod
    def destroy(self, environment_id: str) -> list[str]:
        """Stop and remove everything carrying the environment's labels; return what was removed."""

    @abstractmethod
    def discover(self) -> list[DiscoveredEnvironment]:
        """Every environment this runtime holds resources for, found by label."""

    @abstractmethod
    def log_tail(self, environment_id: str, lines: int = 20) -> list[str]:
        """The last lines its services logged."""

    @abstractmethod
    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        """The environment variables its services actually run with (the runtime's own plumbing left
        out), or None when nothing runs: the "live" side of a drift check."""
