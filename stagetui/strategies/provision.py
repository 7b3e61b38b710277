"""The context every provisioning step shares: inputs wired by the service, results filled by the steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stagetui.config.model import StagetuiConfig
from stagetui.data.engine import DataEngine, DataLocation
from stagetui.data.golden_store import GoldenStore
from stagetui.data.production import ProductionSource
from stagetui.domain.anonymize import ColumnRule, Masker
from stagetui.domain.drift import DriftReport
from stagetui.domain.drift_threshold import ThresholdResult
from stagetui.domain.integrity import IntegrityReport
from stagetui.domain.models import CheckRecord, Environment
from stagetui.runtimes.base import Runtime, Workspace
from stagetui.strategies.context import StepContext
from stagetui.strategies.golden import GoldenSource

ProgressFn = Callable[[float, str], None]
DriftChecker = Callable[[], tuple[DriftReport, ThresholdResult]]
Auditor = Callable[[str, str, str], None]
"""(action, target, detail): appends a line to the audit trail."""


@dataclass(kw_only=True)
class ProvisionContext(StepContext):
    env: Environment
    settings: StagetuiConfig
    runtime: Runtime
    production: ProductionSource
    golden: GoldenStore
    mask_key: bytes
    clock: Callable[[], datetime]
    audit: Auditor
    engine: DataEngine
    environment_data: Callable[[Workspace | None], DataLocation]
    """Where this environment's database goes (a file in the workspace, or a database on the server)."""
    golden_source: Callable[[], GoldenSource]
    full_golden: GoldenStore | None = None
    """PostgreSQL: the full clone's golden copy, kept in step with production and cloned per environment."""

    workspace: Workspace | None = None
    endpoint: str | None = None
    data_as_of: datetime | None = None
    data_source: str = ""
    drift_checker: DriftChecker
    """Reads production's and this environment's configuration now and compares them."""
    drift: DriftReport | None = None
    drift_threshold: ThresholdResult | None = None
    integrity: IntegrityReport | None = None
    hourly_cost: float | None = None
    """An estimate from the environment's actual resources, when the runtime can tell (AWS)."""
    snapshot_set: Any = None
    """aws runtime: the snapshot set the environment is restored from (runtimes.aws.snapshot_sets)."""
    checks: list[CheckRecord] = field(default_factory=list)
    services_login: DataLocation | None = None
    """The database a login was made for (services_data), to be opened to it before services start."""

    @property
    def ws(self) -> Workspace:
        """The workspace, once provision_runtime has created it."""
        if self.workspace is None:
            raise RuntimeError("no workspace yet: provision_runtime must run first")
        return self.workspace

    @property
    def env_data(self) -> DataLocation:
        return self.environment_data(self.workspace)

    def services_data(self) -> DataLocation:
        """The environment's database as its services reach it (their own login on a server). Blocking."""
        data = self.env_data
        login = self.engine.services_login(data)
        if login is not data:  # dropping the database drops its login, whether the database exists or not
            self.rollback.push(f"drop the login of {data.describe()}", lambda: self.engine.drop(data))
            self.services_login = data
        return login

    @property
    def rules(self) -> list[ColumnRule]:
        return mask_rules(self.settings)

    def masker(self) -> Masker:
        return Masker(self.mask_key)

    def scaled(self, start: float, end: float) -> ProgressFn:
        """A progress callback mapping 0..1 of a sub-task onto start..end of the step."""

        def report(fraction: float, message: str) -> None:
            self.progress(start + (end - start) * max(0.0, min(1.0, fraction)), message)

        return report

    def record_check(self, kind: str, ok: bool, summary: str, result: dict[str, object]) -> None:
        self.checks.append(CheckRecord(self.env.uid, kind, self.clock(), ok, summary, result))


def mask_rules(settings: StagetuiConfig) -> list[ColumnRule]:
    return [
        ColumnRule(table, column, rule.rule, rule.value)
        for table, columns in settings.anonymization.tables.items()
        for column, rule in columns.items()
    ]
