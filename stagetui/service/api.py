"""The service API: everything the CLI and the TUI can do, in one place, with no presentation in it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from stagetui.config.model import StagetuiConfig
from stagetui.data.golden_store import GoldenSnapshot
from stagetui.data.production import ensure_production
from stagetui.domain.baselines import BaselineAssessment
from stagetui.domain.benchmarks import Benchmark, BenchmarkStatus
from stagetui.domain.cost import BudgetStatus, CostModel
from stagetui.domain.drift import Approval
from stagetui.domain.durations import InvalidDurationError, parse_duration
from stagetui.domain.experiments import Experiment, ExperimentResult
from stagetui.domain.models import AuditEntry, Environment, MetricSample, StepOutcome, Strategy
from stagetui.domain.notes import Note
from stagetui.runtimes.base import RuntimeOperationError
from stagetui.service import (
    audit,
    aws_snapshots,
    benchmarks,
    budget,
    cluster,
    compare,
    drift,
    experiments,
    notes,
    pool,
    provisioning,
    queries,
    snapshots,
    teardown,
)
from stagetui.service.compare import StrategyComparison
from stagetui.service.core import Clock, ServiceCore, open_core, utc_now
from stagetui.service.errors import BadInputError, OperationFailedError
from stagetui.service.events import EventBus
from stagetui.service.orchestrator import RunOutcome
from stagetui.store.drafts import Draft
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
        return self.core.cost_model

    @property
    def owner(self) -> str:
        """Who is working: recorded on environments, approvals and notes."""
        return self.core.owner

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
        """A ready environment from the warm pool when there is one for the request, else a new one."""
        claimed = await asyncio.to_thread(pool.claim, self.core, request)
        if claimed is not None:
            return provisioning.UpResult(claimed, RunOutcome(StepOutcome.OK), claimed=True)
        return await provisioning.provision(self.core, request)

    def aws_snapshot_sets(self) -> list[Any]:
        """Snapshot sets on AWS, newest first (runtimes.aws.snapshot_sets.SnapshotSet)."""
        return aws_snapshots.snapshot_sets(self.core)

    async def refresh_aws_snapshot_set(
        self, *, force: bool = False, progress: Callable[[float, str], None] | None = None
    ) -> aws_snapshots.SetRefresh:
        return await aws_snapshots.refresh(self.core, force=force, progress=progress)

    def pool_status(self) -> pool.PoolStatus:
        return pool.pool_status(self.core)

    async def fill_pool(self, on_start: Callable[[int], None] | None = None) -> pool.FillResult:
        return await pool.fill(self.core, on_start)

    async def drain_pool(self) -> tuple[list[teardown.TeardownResult], list[str]]:
        return await pool.drain(self.core)

    async def down(self, reference: str) -> teardown.TeardownResult:
        return await teardown.tear_down(self.core, reference)

    async def gc(self, *, dry_run: bool = False) -> list[teardown.GcAction]:
        return await teardown.collect_garbage(self.core, dry_run=dry_run)

    def environments(
        self, *, include_history: bool = False, include_pool: bool = False
    ) -> list[queries.EnvironmentView]:
        """Live environments (reconciled with the runtimes); with history, ended ones too. Environments
        waiting in the warm pool only with include_pool (`pool_status` lists them)."""
        views = queries.reconcile(self.core)
        views = views if include_pool else pool.without_waiting(views)
        return views + queries.history(self.core) if include_history else views

    def detail(self, reference: str, *, with_services: bool = True) -> queries.EnvironmentDetail:
        return queries.detail(self.core, reference, with_services=with_services)

    def follow_logs(self, reference: str, service: str | None, stop: Callable[[], bool]) -> Iterator[str]:
        """Lines the environment's services (or one of them) log from now on, until `stop()` is true.
        Blocking: run it in a thread."""
        env = queries.resolve(self.core, reference).environment
        runtime = self.core.runtime(env.runtime)
        try:
            yield from runtime.follow_logs(env.id, service, stop)
        except RuntimeOperationError as error:
            raise OperationFailedError(f"following the log of {env.id}: {error}") from None

    async def refresh_snapshot(
        self,
        *,
        kind: str = "snapshot",
        force: bool = False,
        progress: Callable[[float, str], None] | None = None,
    ) -> RefreshResult:
        return await snapshots.refresh_snapshot(self.core, kind=kind, force=force, progress=progress)

    def golden_kinds(self) -> list[str]:
        """The golden copies this config keeps: "snapshot", and "full" on PostgreSQL."""
        return snapshots.golden_kinds(self.core)

    async def prepare_production(self, progress: Callable[[float, str], None] | None = None) -> str | None:
        """Generate the sample production if it is missing; what was done, or None."""
        return await asyncio.to_thread(ensure_production, self.core.production(), self.core.engine, progress)

    def snapshots(self) -> list[GoldenSnapshot]:
        return snapshots.list_snapshots(self.core)

    def audit_trail(
        self,
        *,
        environment: str | None = None,
        since: timedelta | None = None,
        actions: frozenset[str] | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        return audit.audit_trail(
            self.core, environment=environment, since=since, actions=actions, limit=limit
        )

    # --- clusters (blocking: the TUI calls these from thread workers) ---------------------------------
    def cluster_nodes(self, runtime: str | None = None) -> list[cluster.ClusterNodes]:
        """Nodes of each cluster runtime, with the environments placed on each."""
        return cluster.cluster_nodes(self.core, runtime)

    def scale(self, reference: str, wanted: dict[str, int]) -> list[str]:
        """Scale services of an environment on a cluster without restarting running tasks."""
        return cluster.scale(self.core, reference, wanted)

    def reconfigure(self, reference: str, assignments: list[str], unset: list[str]) -> str:
        """Change config variables of an environment and roll them out to its running services."""
        return cluster.reconfigure(self.core, reference, assignments, unset)

    # --- configuration drift ------------------------------------------------------------------------
    def drift_check(self, reference: str, against: str | None = None) -> drift.DriftCheck:
        """Compare now (recorded as a check and metrics when against production)."""
        return drift.check(self.core, reference, against)

    def drift_check_all(self) -> list[tuple[Environment, drift.DriftCheck | None, str]]:
        return drift.check_all(self.core)

    def approve_drift(self, reference: str, pattern: str, **details: Any) -> Approval:
        return drift.approve(self.core, reference, pattern, **details)

    def drift_approvals(self, reference: str | None = None) -> list[tuple[Approval, str]]:
        env_id = queries.resolve(self.core, reference).environment.id if reference else None
        return drift.approvals(self.core, env_id)

    def drift_history(self, uid: str) -> list[float]:
        """Unapproved drift counts of an environment over the baseline window, oldest first."""
        return drift.history(self.core, uid, self.now() - self.config.cycle.baseline_window)

    # --- the improvement cycle ----------------------------------------------------------------------
    def benchmarks(self) -> list[benchmarks.DefinedBenchmark]:
        return benchmarks.defined(self.core)

    def benchmark_names(self) -> set[str]:
        return {item.benchmark.name for item in benchmarks.defined(self.core)}

    def benchmark_statuses(self) -> list[BenchmarkStatus]:
        return benchmarks.statuses(self.core)

    def assess_baseline(self, name: str, *, save: bool = False) -> BaselineAssessment:
        assessment = benchmarks.assess(self.core, name)
        if save:
            benchmarks.save_baseline(self.core, name, assessment)
        return assessment

    def add_benchmark(self, benchmark: Benchmark) -> None:
        benchmarks.add(self.core, benchmark)

    def remove_benchmark(self, name: str) -> None:
        benchmarks.remove(self.core, name)

    def experiments(self) -> list[Experiment]:
        return experiments.all_experiments(self.core)

    def experiment_names(self) -> set[str]:
        return {e.id for e in experiments.all_experiments(self.core)} | {
            e.name for e in experiments.all_experiments(self.core)
        }

    def start_experiment(self, name: str, **details: Any) -> Experiment:
        return experiments.start(self.core, name, **details)

    def stop_experiment(self, reference: str, *, cancel: bool = False) -> Experiment:
        return experiments.stop(self.core, reference, cancel=cancel)

    def experiment_result(self, reference: str) -> ExperimentResult:
        return experiments.result(self.core, reference)

    def samples(self, since: datetime) -> list[MetricSample]:
        """Recorded metric samples since `since` (for plots)."""
        return self.core.store.metrics(since=since)

    def compare(self) -> list[StrategyComparison]:
        return compare.compare(self.core)

    def budgets(self) -> list[BudgetStatus]:
        return budget.budgets(self.core)

    def notes(self) -> list[Note]:
        return notes.list_notes(self.core)

    def drafts(self) -> list[Draft]:
        """Notes being written and not saved yet (kept on disk as they are typed)."""
        return notes.drafts(self.core).all()

    def save_draft(self, draft: Draft) -> None:
        notes.save_draft(self.core, draft)

    def discard_draft(self, key: str) -> None:
        notes.drafts(self.core).discard(key)

    def add_note(self, title: str, body: str, **links: Any) -> Note:
        return notes.add_note(
            self.core,
            title,
            body,
            known_benchmarks=self.benchmark_names(),
            known_experiments=self.experiment_names(),
            **links,
        )
