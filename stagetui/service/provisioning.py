"""`up`: validate, claim the id, run the strategy's plan, record steps, checks, metrics and the outcome."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stagetui.domain.drift import DriftReport
from stagetui.domain.drift_threshold import ThresholdResult
from stagetui.domain.ids import InvalidBranchError, environment_id, is_valid_owner, validate_branch
from stagetui.domain.models import (
    DriftSummary,
    Environment,
    EnvironmentStatus,
    MetricSample,
    StepOutcome,
    StepPhase,
    StepRecord,
    Strategy,
)
from stagetui.service import drift
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError, ConflictError
from stagetui.service.events import EnvironmentChanged, EnvironmentQueued
from stagetui.service.orchestrator import RunOutcome
from stagetui.service.queries import EnvironmentView, reconcile
from stagetui.service.samples import record_samples
from stagetui.strategies.provision import ProvisionContext
from stagetui.strategies.registry import strategy_for


@dataclass(frozen=True)
class UpRequest:
    branch: str
    strategy: Strategy
    runtime: str
    ttl: timedelta
    owner: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    """Extra stagetui.* labels of the environment (the warm pool marks its own)."""


@dataclass(frozen=True)
class UpResult:
    environment: Environment
    outcome: RunOutcome
    claimed: bool = False
    """Handed over from the warm pool rather than provisioned for this request."""

    @property
    def ok(self) -> bool:
        return self.outcome.ok


def check_request(core: ServiceCore, request: UpRequest) -> None:
    """Refuse a bad branch, runtime or ttl before anything happens."""
    try:
        validate_branch(request.branch)
    except InvalidBranchError as error:
        raise BadInputError(f"branch {request.branch!r}: {error}") from None
    core.runtime(request.runtime)
    if request.runtime == "aws" and request.strategy is not Strategy.SNAPSHOT:
        raise BadInputError(
            f"the aws runtime provisions snapshot environments (AWS snapshots), not {request.strategy.value}"
        )
    if request.ttl <= timedelta(0):
        raise BadInputError("ttl must be positive")
    owner = request.owner if request.owner is not None else core.owner
    if not is_valid_owner(owner):
        source = "--owner" if request.owner is not None else "the owner (config `owner`, else $USER)"
        raise BadInputError(f"{source} {owner!r}: must be 1-64 letters, digits, '.', '@', '_' or '-'")


def refuse_duplicates(views: list[EnvironmentView], request: UpRequest) -> None:
    """One live environment per branch and strategy (an environment claimed from the warm pool keeps the
    pool's id, so the id alone does not tell)."""
    env_id = environment_id(request.branch, request.strategy)
    for view in views:
        env = view.environment
        if env.id == env_id or (env.branch == request.branch and env.strategy is request.strategy):
            hint = "run `stagetui gc`" if not view.recorded else f"`stagetui down {env.id}` first"
            raise ConflictError(f"environment {env.id} exists ({view.status.value}); {hint}")


def _claim(core: ServiceCore, request: UpRequest) -> Environment:
    """Check the request and record the new environment; raises before anything is created."""
    check_request(core, request)
    runtime = core.runtime(request.runtime)
    env_id = environment_id(request.branch, request.strategy)
    now = core.clock()
    env = Environment(
        uid=uuid.uuid4().hex,
        id=env_id,
        branch=request.branch,
        strategy=request.strategy,
        runtime=runtime.name,
        owner=request.owner or core.owner,
        created_at=now,
        expires_at=now + request.ttl,
        status=EnvironmentStatus.PROVISIONING,
        max_data_age=strategy_for(request.strategy).max_data_age(core.config),
        owner_pid=os.getpid(),
        owner_host=core.hostname,
        updated_at=now,
        labels=dict(request.labels),
    )
    with core.store.transaction():
        refuse_duplicates(reconcile(core, now), request)
        core.store.save_environment(env)
    return env


async def provision(core: ServiceCore, request: UpRequest) -> UpResult:
    mask_key = core.mask_key()
    env = _claim(core, request)
    plan = strategy_for(env.strategy).plan(core.config, env.runtime)
    core.events.emit(EnvironmentQueued(env.id, env.uid, core.clock(), plan.names))
    core.events.emit(EnvironmentChanged(env.id, env.uid, core.clock(), env))
    context = ProvisionContext(
        env=env,
        settings=core.config,
        runtime=core.runtime(env.runtime),
        production=core.production(),
        golden=core.golden,
        mask_key=mask_key,
        clock=core.clock,
        audit=lambda action, target, text: core.audit(action, target, text, env.id),
        drift_checker=lambda: _drift_checker(core, env),
        engine=core.engine,
        environment_data=lambda workspace: core.environment_data(env.id, workspace),
        golden_source=lambda: core.golden_source("snapshot", mask_key),
        full_golden=core.full_golden,
    )
    try:
        outcome = await core.orchestrator.run(
            env, plan, context, lambda record: core.store.add_steps([record])
        )
    except asyncio.CancelledError:
        _finish(core, env, context, RunOutcome(StepOutcome.CANCELLED, "cancelled"))
        raise
    _finish(core, env, context, outcome)
    return UpResult(env, outcome)


def _drift_checker(core: ServiceCore, env: Environment) -> tuple[DriftReport, ThresholdResult]:
    outcome = drift.check_against_production(core, env)
    return outcome.report, outcome.threshold


def _finish(core: ServiceCore, env: Environment, context: ProvisionContext, outcome: RunOutcome) -> None:
    now = core.clock()
    if context.checks:
        core.store.add_checks(context.checks)
    if outcome.ok:
        steps = [r for r in outcome.records if r.phase is StepPhase.PROVISION]
        env.status = EnvironmentStatus.READY
        env.status_detail = ""
        env.endpoint = context.endpoint
        env.provision_seconds = (
            max(r.ended_at for r in steps) - min(r.started_at for r in steps)
        ).total_seconds()
        env.data_as_of, env.data_source = context.data_as_of, context.data_source
        if context.workspace is not None:
            data = context.env_data
            env.database = data.describe()
            env.data_bytes = _quietly(lambda: context.engine.size_bytes(data))
        if context.drift is not None:
            worst = context.drift.worst
            env.drift = DriftSummary(
                context.drift.count, worst.value if worst else None, context.drift.approved_count, now
            )
        env.orphans = context.integrity.total_orphans if context.integrity else None
        env.hourly_cost = context.hourly_cost
        stored = record_samples(core, _metrics(core, env, context, steps, now))
        env.experiment = next((s.experiment for s in stored if s.metric == "provision.total_seconds"), None)
    else:
        env.status = EnvironmentStatus.FAILED
        where = f"{outcome.failed_step}: " if outcome.failed_step else ""
        env.status_detail = f"{where}{outcome.error}; rolled back"
        if outcome.rollback_errors:
            env.status = EnvironmentStatus.INTERRUPTED  # something may be left: gc will find it by label
            env.status_detail += f" with errors ({'; '.join(outcome.rollback_errors)})"
        record_samples(core, [_sample(env, now, "provision.failures", 1.0, outcome.failed_step)])
    env.owner_pid = None
    env.updated_at = now
    core.store.save_environment(env)
    core.audit("provision", env.id, f"{env.status.value}: {env.status_detail or env.data_source}", env.id)
    core.events.emit(EnvironmentChanged(env.id, env.uid, now, env))


def _quietly(measure: Callable[[], int | None]) -> int | None:
    """A measurement that must not turn a ready environment into a failed one."""
    try:
        return measure()
    except Exception:
        return None


def _sample(
    env: Environment, now: datetime, metric: str, value: float, step: str | None = None
) -> MetricSample:
    return MetricSample(now, metric, value, env.uid, env.id, env.strategy, env.runtime, env.branch, step)


def _metrics(
    core: ServiceCore, env: Environment, context: ProvisionContext, steps: list[StepRecord], now: datetime
) -> list[MetricSample]:
    samples = [_sample(env, now, "provision.step_seconds", r.seconds, r.name) for r in steps]
    samples.append(_sample(env, now, "provision.total_seconds", env.provision_seconds or 0.0))
    if env.data_as_of is not None:
        samples.append(_sample(env, now, "data.age_seconds", (now - env.data_as_of).total_seconds()))
    if context.drift is not None and context.drift_threshold is not None:
        check = drift.DriftCheck(env, "production", context.drift, context.drift_threshold, now)
        samples += drift.drift_samples(env, check, now)
    if env.orphans is not None:
        samples.append(_sample(env, now, "integrity.orphans", float(env.orphans)))
    samples.append(_sample(env, now, "cost.per_day", core.cost_model.per_day(env)))
    return samples
