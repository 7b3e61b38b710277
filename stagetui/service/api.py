"""The service API: everything the CLI and the TUI can do, in one place, with no presentation in it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from stagetui.config.model import StagetuiConfig
from stagetui.data.golden_store import GoldenSnapshot
from stagetui.data.production import ensure_production
from stagetui.domain.cost import CostModel
from stagetui.domain.durations import InvalidDurationError, parse_duration
from stagetui.domain.models import Strategy
from stagetui.service import provisioning, queries, snapshots, teardown
from stagetui.service.core import Clock, ServiceCore, open_core, utc_now
from stagetui.service.errors import BadInputError
from stagetui.service.events import EventBus
from stagetui.strategies.golden import RefreshResult

TIERS = ("unit", "integration", "feature", "pre_release")


class StagetuiService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    @classmethod
    def open(
        cls, config: StagetuiConfig, environ: Mapping[str, str] | None = None, clock: Clock = utc_now
    ) -> StagetuiService:
        return cls(open_core(config, environ, clock))

    @property
    def events(self) -> EventBus:
        return self.core.events

    @property
    def config(self) -> StagetuiConfig:
        return self.core.config

    @property
    def cost_model(self) -> CostModel:
        cost = self.config.cost
        return CostModel(cost.currency, dict(cost.hourly), cost.storage_gb_month)

    @property
    def runtime_names(self) -> list[str]:
        return sorted(self.core.runtimes)

    def now(self) -> datetime:
        return self.core.clock()

    def up_request(
        self,
        branch: str,
        *,
        strategy: str | None = None,
        tier: str | None = None,
        runtime: str | None = None,
        ttl: str | None = None,
        owner: str | None = None,
    ) -> provisioning.UpRequest:
        """Turn user input into a request, with errors that say which input is wrong."""
        defaults = self.config.defaults
        if strategy is not None and tier is not None:
            raise BadInputError("give --strategy or --tier, not both")
        if tier is not None:
            if tier not in TIERS:
                raise BadInputError(f"unknown tier {tier!r} (known: {', '.join(TIERS)})")
            kind: Strategy = getattr(self.config.policy, tier)
        elif strategy is not None:
            try:
                kind = Strategy(strategy)
            except ValueError:
                known = ", ".join(s.value for s in Strategy)
                raise BadInputError(f"unknown strategy {strategy!r} (known: {known})") from None
        else:
            kind = defaults.strategy
        lifetime: timedelta = defaults.ttl
        if ttl is not None:
            try:
                lifetime = parse_duration(ttl)
            except InvalidDurationError as error:
                raise BadInputError(f"--ttl: {error}") from None
        return provisioning.UpRequest(branch, kind, runtime or defaults.runtime, lifetime, owner)

    async def up(self, request: provisioning.UpRequest) -> provisioning.UpResult:
        return await provisioning.provision(self.core, request)

    async def down(self, reference: str) -> teardown.TeardownResult:
        return await teardown.tear_down(self.core, reference)

    async def gc(self, *, dry_run: bool = False) -> list[teardown.GcAction]:
        return await teardown.collect_garbage(self.core, dry_run=dry_run)

    def environments(self, *, include_history: bool = False) -> list[queries.EnvironmentView]:
        """Live environments (reconciled with the runtimes); with history, ended ones too."""
        views = queries.reconcile(self.core)
        return views + queries.history(self.core) if include_history else views

    def detail(self, reference: str) -> queries.EnvironmentDetail:
        return queries.detail(self.core, reference)

    async def refresh_snapshot(
        self, *, force: bool = False, progress: Callable[[float, str], None] | None = None
    ) -> RefreshResult:
        return await snapshots.refresh_snapshot(self.core, force=force, progress=progress)

    async def prepare_production(self, progress: Callable[[float, str], None] | None = None) -> str | None:
        """Generate the sample production if it is missing; what was done, or None."""
        return await asyncio.to_thread(ensure_production, self.core.production(), progress)

    def snapshots(self) -> list[GoldenSnapshot]:
        return snapshots.list_snapshots(self.core)
