"""The runtime interface: where an environment runs. Strategies decide what goes in; runtimes run it.

Every resource a runtime creates carries the environment's labels, so `discover()` can find environments
(and leftovers after a crash) from the runtime itself: the runtime is the source of truth for what exists.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stagetui.domain.models import Environment
from stagetui.domain.nodes import NodeCapacity
from stagetui.domain.service_status import ServiceStatus

LABEL_PREFIX = "stagetui."
Progress = Callable[[float, str], None]
"""Fraction done (0..1) and what is happening."""


def environment_labels(env: Environment) -> dict[str, str]:
    """The label set every resource of `env` carries (its own stagetui labels too, e.g. warm-pool ones)."""
    own = {key: value for key, value in env.labels.items() if key.startswith(LABEL_PREFIX)}
    return {
        **own,
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
    services_data_dir: Path | None = None
    """Where the environment's services see `data_dir` when that is another path (inside a container);
    None: the same path."""

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
    def data_identity_file(self) -> Path:
        """Names the data when it is a copy of something shared (a golden snapshot): environments with the
        same identity have the same bytes, so a runtime may share one read-only copy among them."""
        return self.root / "data-identity"

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


def config_variables(config_file: Path) -> dict[str, str]:
    """The rendered config's `env` namespace as strings; nothing when it has none."""
    try:
        section = json.loads(config_file.read_text(encoding="utf-8")).get("env", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(section, dict):
        return {}
    return {str(k): str(v) for k, v in section.items() if v is not None and str(k) != "STAGETUI_ENV_ID"}


def new_lines(before: list[str], after: list[str]) -> list[str]:
    """Lines of `after` that follow the longest suffix of `before` it starts with (two tails of one log)."""
    for overlap in range(min(len(before), len(after)), 0, -1):
        if before[-overlap:] == after[:overlap]:
            return after[overlap:]
    return after


class RuntimeOperationError(Exception):
    """A runtime operation failed; the message says what and where."""


class EnvironmentExistsError(RuntimeOperationError):
    """The runtime holds resources of this environment already (a teammate's, or an earlier run's): they
    are not this run's to remove."""


class Runtime(ABC):
    name: str
    cluster: bool = False
    """An orchestrator over several machines: it has nodes, scales services and rolls config out."""

    @abstractmethod
    def create_workspace(self, env: Environment) -> Workspace:
        """Create the labelled place the environment lives in. Fails if it exists already."""

    @abstractmethod
    def workspace(self, environment_id: str) -> Workspace:
        """The workspace of an existing environment."""

    @abstractmethod
    def start_services(
        self, env: Environment, workspace: Workspace, timeout: float, progress: Progress | None = None
    ) -> str:
        """Start the environment's services; return the endpoint URL once they listen."""

    @abstractmethod
    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        """Block until the health check passes; return a short detail. RuntimeOperationError on timeout."""

    @abstractmethod
    def relabel(self, env: Environment) -> None:
        """Record `env`'s labels anew on the runtime (a claim from the warm pool changes its branch,
        owner and expiry), so discovery by anyone sees the new ones."""

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

    def start_summary(self, workspace: Workspace) -> str:
        """How the last start went, per service (when each was started); "" when there is nothing to say."""
        return ""

    def actual_cost(self, environment_id: str, start: date, end: date) -> float | None:
        """What the provider billed for the environment between the two dates, when it can tell."""
        return None

    def collect_shared(self, dry_run: bool = False) -> list[str]:
        """Remove resources environments shared that none uses any more (gc); returns what was (or, with
        dry_run, would be) removed."""
        return []

    def service_status(self, environment_id: str) -> list[ServiceStatus]:
        """Status, health and resource use of each of its services; [] when the runtime cannot tell."""
        return []

    def follow_logs(
        self, environment_id: str, service: str | None, stop: Callable[[], bool]
    ) -> Iterator[str]:
        """Lines its services log from now on (one service, or all), until `stop()` is true. The default
        polls `log_tail`, for runtimes without a log stream."""
        seen = self.log_tail(environment_id, 200)
        while not stop():
            time.sleep(0.5)
            current = self.log_tail(environment_id, 200)
            yield from new_lines(seen, current)
            seen = current

    def current_endpoint(self, environment_id: str) -> str | None:
        """Where the environment answers now, for runtimes that may move it (a task rescheduled to another
        node); None: where it answered at start."""
        return None

    def nodes(self) -> list[NodeCapacity]:
        """The machines of a cluster and what runs on each; [] for a runtime that is not a cluster."""
        return []

    def scale(self, environment_id: str, service: str, replicas: int, timeout: float) -> str:
        """Run `replicas` tasks of one service, leaving the running ones alone; returns a short detail."""
        raise RuntimeOperationError(
            f"the {self.name} runtime runs each service once; scaling needs an orchestrator (--runtime swarm)"
        )

    def update_config(self, env: Environment, workspace: Workspace, timeout: float) -> str:
        """Roll the workspace's re-rendered config out to the running services; returns a short detail."""
        raise RuntimeOperationError(
            f"the {self.name} runtime cannot roll a config out to running services: tear the environment "
            "down and up again, or use --runtime swarm"
        )

    @abstractmethod
    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        """The environment variables its services actually run with (the runtime's own plumbing left
        out), or None when nothing runs: the "live" side of a drift check."""
