"""The wiring the service functions share: config, state paths, store, runtimes, events, clock."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from stagetui.config.model import StagetuiConfig
from stagetui.data.engine import DataEngine, DataLocation
from stagetui.data.golden_store import GoldenStore
from stagetui.data.production import ProductionSource
from stagetui.domain.anonymize import Masker
from stagetui.domain.cost import CostModel
from stagetui.domain.models import AuditEntry
from stagetui.runtimes.aws.runtime import AwsRuntime
from stagetui.runtimes.base import Runtime, Workspace
from stagetui.runtimes.docker.runtime import DockerRuntime
from stagetui.runtimes.local import LocalRuntime
from stagetui.runtimes.swarm.runtime import SwarmRuntime
from stagetui.service import databases
from stagetui.service.errors import BadInputError
from stagetui.service.events import EventBus
from stagetui.service.failpoints import Failpoints
from stagetui.service.keys import MaskKeyError, load_mask_key
from stagetui.service.orchestrator import Orchestrator
from stagetui.service.paths import StatePaths, resolve_state_dir
from stagetui.service.production import production_source
from stagetui.store.private import tighten_state_directory
from stagetui.store.store import Store
from stagetui.strategies.golden import GoldenSource
from stagetui.strategies.provision import mask_rules

Clock = Callable[[], datetime]
FAILPOINTS_ENV = "STAGETUI_FAILPOINTS"
"""Deliberate faults at named steps (see failpoints.py): how tests, and the curious, prove rollback."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceCore:
    config: StagetuiConfig
    paths: StatePaths
    store: Store
    runtimes: dict[str, Runtime]
    events: EventBus
    clock: Clock
    orchestrator: Orchestrator
    golden: GoldenStore
    full_golden: GoldenStore
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    hostname: str = field(default_factory=socket.gethostname)

    @cached_property
    def engine(self) -> DataEngine:
        """SQLite (the embedded default) or PostgreSQL, by where production is."""
        return databases.data_engine(self.config)

    @property
    def server_dsn(self) -> str | None:
        return databases.server_dsn(self.config)

    @property
    def installation_tag(self) -> str:
        return databases.installation_tag(self.paths, self.hostname)

    def environment_data(self, environment_id: str, workspace: Workspace | None) -> DataLocation:
        return databases.environment_location(self.config, self.installation_tag, environment_id, workspace)

    def golden_source(self, kind: str, mask_key: bytes) -> GoldenSource:
        """What golden copies of `kind` ("snapshot" or "full") are built from and how."""
        tag, data = self.installation_tag, self.config.data
        return GoldenSource(
            production=self.production(),
            engine=self.engine,
            rules=mask_rules(self.config),
            masker=Masker(mask_key),
            clock=self.clock,
            server_dsn=self.server_dsn if self.engine.name == "postgres" else None,
            database_name=lambda snapshot_id: databases.golden_database(tag, kind, snapshot_id),
            change_column=data.change_column,
            incremental=data.incremental,
            strict=self.config.anonymization.strict,
        )

    @property
    def owner(self) -> str:
        if self.config.owner:
            return self.config.owner
        try:
            return self.environ.get("USER") or getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def runtime(self, name: str) -> Runtime:
        try:
            return self.runtimes[name]
        except KeyError:
            known = ", ".join(sorted(self.runtimes))
            raise BadInputError(f"unknown runtime {name!r} (available: {known})") from None

    @property
    def cost_model(self) -> CostModel:
        cost = self.config.cost
        return CostModel(cost.currency, {r: dict(p) for r, p in cost.hourly.items()}, cost.storage_gb_month)

    def production(self) -> ProductionSource:
        return production_source(self.config, self.paths, self.clock(), self.installation_tag)

    def mask_key(self) -> bytes:
        try:
            return load_mask_key(self.config.anonymization, self.paths.secrets / "mask.key", self.environ)
        except MaskKeyError as error:
            raise BadInputError(str(error)) from None

    def audit(self, action: str, target: str, detail: str = "", environment_id: str | None = None) -> None:
        self.store.audit(AuditEntry(self.clock(), self.owner, action, target, detail, environment_id))


def open_core(
    config: StagetuiConfig, environ: Mapping[str, str] | None = None, clock: Clock = utc_now
) -> ServiceCore:
    environ = dict(os.environ if environ is None else environ)
    paths = resolve_state_dir(config, environ)
    tighten_state_directory(paths.root)
    events = EventBus()
    local = config.runtimes.local
    try:
        failpoints = Failpoints.parse(environ.get(FAILPOINTS_ENV, ""))
    except ValueError as error:
        raise BadInputError(f"{FAILPOINTS_ENV}: {error}") from None
    return ServiceCore(
        config=config,
        paths=paths,
        store=Store(paths.store),
        runtimes={
            "local": LocalRuntime(
                paths.environments, host=local.host, stop_timeout=local.stop_timeout.total_seconds()
            ),
            "docker": DockerRuntime(paths.docker_workspaces, config.runtimes.docker, environ),
            "swarm": SwarmRuntime(
                paths.swarm_workspaces, config.runtimes.swarm, environ, config.runtimes.docker.compose
            ),
            "aws": AwsRuntime(paths.aws_workspaces, config.runtimes.aws, environ),
        },
        events=events,
        clock=clock,
        orchestrator=Orchestrator(
            events,
            clock,
            max_parallel=config.orchestrator.max_parallel,
            step_timeout=config.orchestrator.step_timeout,
            failpoints=failpoints,
        ),
        golden=GoldenStore(paths.snapshots),
        full_golden=GoldenStore(paths.full_golden),
        environ=environ,
    )
