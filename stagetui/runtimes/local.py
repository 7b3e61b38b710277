"""The local runtime: an environment is a directory under the state directory plus the sample service
running as its own process group on a free loopback port. The embedded default: needs nothing installed."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import deque
from pathlib import Path

from stagetui.domain.models import Environment
from stagetui.runtimes.base import (
    DiscoveredEnvironment,
    Progress,
    Runtime,
    RuntimeOperationError,
    Workspace,
    config_variables,
    environment_labels,
)
from stagetui.runtimes.health import probe_health
from stagetui.runtimes.processes import (
    ProcessHandle,
    is_alive,
    spawn_group,
    stop_group,
    stop_processes_in,
)
from stagetui.runtimes.workspaces import (
    create_workspace_directory,
    workspace_labels,
    workspace_under,
    write_labels,
)
from stagetui.store.atomic import atomic_write_text

PROCESS_FILE = "service.json"
PORT_FILE = "service.port"
SERVICE_LOG = "service.log"
# Only these variables reach a service: never the caller's secrets (e.g. the masking key, cloud credentials).
_PASSED_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "SYSTEMROOT")
_PLUMBING = frozenset({*_PASSED_VARIABLES, "STAGETUI_ENV_ID"})
"""Variables the runtime may set for itself (those the config also sets are the config's)."""


class LocalRuntime(Runtime):
    name = "local"

    def __init__(self, root: Path, *, host: str = "127.0.0.1", stop_timeout: float = 5.0) -> None:
        self.root = root
        self.host = host
        self.stop_timeout = stop_timeout

    def workspace(self, environment_id: str) -> Workspace:
        return workspace_under(self.root, environment_id)

    def create_workspace(self, env: Environment) -> Workspace:
        return create_workspace_directory(self.workspace(env.id), env)

    def start_services(
        self, env: Environment, workspace: Workspace, timeout: float, progress: Progress | None = None
    ) -> str:
        port_file = workspace.root / PORT_FILE
        port_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "stagetui.sample.service",
            # Without a database file the environment's data is on a server: DATABASE_URL from its config.
            *(["--db", str(workspace.database)] if workspace.database.exists() else []),
            "--config",
            str(workspace.config_file),
            "--port-file",
            str(port_file),
            "--host",
            self.host,
            "--env-id",
            env.id,
        ]
        configured = config_variables(workspace.config_file)
        plumbing = {name: os.environ[name] for name in _PASSED_VARIABLES if name in os.environ}
        plumbing = {name: value for name, value in plumbing.items() if name not in configured}
        plumbing["STAGETUI_ENV_ID"] = env.id
        if workspace.password_file.is_file():  # the server password, never in the config or the command
            plumbing["PGPASSFILE"] = str(workspace.password_file)
        # The service gets its configuration's `env` namespace as real environment variables, as an app
        # would: what it then runs with can be read back from the process (live drift).
        variables = {**plumbing, **configured}
        handle = spawn_group(
            command, cwd=workspace.root, env=variables, log_file=workspace.logs_dir / SERVICE_LOG
        )
        record = {**handle.to_dict(), "plumbing": sorted(plumbing)}
        atomic_write_text(workspace.root / PROCESS_FILE, json.dumps(record))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_file.exists():
                return f"http://{self.host}:{int(port_file.read_text().strip())}"
            if not is_alive(handle):
                tail = " | ".join(self.log_tail(env.id, 5))
                raise RuntimeOperationError(f"service of {env.id} exited before listening: {tail}")
            time.sleep(0.02)
        raise RuntimeOperationError(f"service of {env.id} did not listen within {timeout:.0f}s")

    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        return probe_health(env.id, f"{endpoint}/health", timeout, lambda: self.is_running(env.id))

    def relabel(self, env: Environment) -> None:
        write_labels(self.workspace(env.id), environment_labels(env))

    def is_running(self, environment_id: str) -> bool:
        handle = self._process(self.workspace(environment_id))
        return handle is not None and is_alive(handle)

    def destroy(self, environment_id: str) -> list[str]:
        workspace = self.workspace(environment_id)
        removed: list[str] = []
        handle = self._process(workspace)
        if handle and stop_group(handle, self.stop_timeout):
            removed.append(f"process group {handle.pid}")
        if workspace.root.exists():
            # A service whose record was never written (its starter was killed right after the spawn).
            strays = stop_processes_in(workspace.root, self.stop_timeout)
            removed += [f"process {pid} working in the environment" for pid in strays]
            shutil.rmtree(workspace.root)
            removed.append(f"directory {workspace.root}")
        return removed

    def discover(self) -> list[DiscoveredEnvironment]:
        found = []
        for environment_id, labels in workspace_labels(self.root).items():
            directory = self.root / environment_id
            handle = self._process(Workspace(directory))
            running = handle is not None and is_alive(handle)
            resources = [f"directory {directory}"] + (
                [f"process group {handle.pid}"] if running and handle else []
            )
            found.append(DiscoveredEnvironment(environment_id, labels, running, tuple(resources)))
        return found

    def log_tail(self, environment_id: str, lines: int = 20) -> list[str]:
        log = self.workspace(environment_id).logs_dir / SERVICE_LOG
        try:
            with log.open(encoding="utf-8", errors="replace") as handle:
                return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
        except FileNotFoundError:
            return []

    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        workspace = self.workspace(environment_id)
        handle = self._process(workspace)
        if handle is None or not is_alive(handle):
            return None
        try:
            plumbing = set(json.loads((workspace.root / PROCESS_FILE).read_text()).get("plumbing", []))
        except (OSError, ValueError, AttributeError):
            plumbing = set(_PLUMBING)
        try:
            raw = Path(f"/proc/{handle.pid}/environ").read_bytes()
        except OSError:
            return None
        variables = dict(
            entry.decode("utf-8", "replace").partition("=")[::2]
            for entry in raw.split(b"\0")
            if b"=" in entry
        )
        return {k: v for k, v in variables.items() if k not in plumbing}

    def _process(self, workspace: Workspace) -> ProcessHandle | None:
        try:
            return ProcessHandle.from_dict(json.loads((workspace.root / PROCESS_FILE).read_text()))
        except (OSError, ValueError):
            return None
