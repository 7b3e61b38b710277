"""`down` and `gc`: remove what environments hold on their runtime, by label, and record it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stagetui.data.engine import DataLocation
from stagetui.domain.models import Environment, EnvironmentStatus, StepOutcome, StepPhase, StepRecord
from stagetui.runtimes.base import Runtime, RuntimeOperationError
from stagetui.service import databases
from stagetui.service.core import ServiceCore
from stagetui.service.errors import ConflictError, OperationFailedError
from stagetui.service.events import EnvironmentChanged, StepFinished
from stagetui.service.queries import BUSY, EnvironmentView, reconcile, resolve
from stagetui.strategies.full_clone import KEEP_FULL_GOLDEN


@dataclass(frozen=True)
class TeardownResult:
    environment: Environment
    removed: list[str]
    seconds: float


async def tear_down(
    core: ServiceCore,
    reference: str,
    *,
    reason: str = "requested",
    only_if: Callable[[Environment], bool] | None = None,
) -> TeardownResult:
    """`only_if` is checked on the record under the store lock, right before the teardown starts (the warm
    pool drains only environments still waiting, never one claimed a moment ago)."""
    view = resolve(core, reference)
    if view.status in BUSY:
        # reconcile() already turned busy records of dead processes into INTERRUPTED: this one is alive.
        env = view.environment
        raise ConflictError(
            f"{env.id} is {view.status.value} by process {env.owner_pid} on {env.owner_host}; "
            "wait for it, or interrupt that process (it rolls back)"
        )
    return await _destroy(core, view, reason, only_if)


async def _destroy(
    core: ServiceCore,
    view: EnvironmentView,
    reason: str,
    only_if: Callable[[Environment], bool] | None = None,
) -> TeardownResult:
    env = view.environment
    runtime = core.runtime(env.runtime)
    started = core.clock()
    if view.recorded:
        with core.store.transaction():
            # Decided on a view read earlier: if the record changed since (a claim from the warm pool, a
            # new ttl, another teardown), that decision no longer holds.
            current = core.store.environment(env.uid)
            if current is None or current.updated_at != env.updated_at or current.status != env.status:
                raise ConflictError(f"{env.id} changed while this was deciding to tear it down; try again")
            if only_if is not None and not only_if(current):
                raise ConflictError(f"{env.id} is no longer what this teardown was for ({reason})")
            env.status, env.owner_pid, env.owner_host = (
                EnvironmentStatus.TEARING_DOWN,
                os.getpid(),
                core.hostname,
            )
            env.updated_at = started
            core.store.save_environment(env)
        core.events.emit(EnvironmentChanged(env.id, env.uid, started, env))
    try:
        # Shielded: once started, a teardown finishes even if the caller is interrupted.
        removed = await asyncio.shield(asyncio.to_thread(_destroy_everything, core, runtime, env.id))
    except Exception as error:
        _record(core, env, started, StepOutcome.FAILED, f"{type(error).__name__}: {error}", view.recorded)
        if view.recorded:
            env.status, env.status_detail = EnvironmentStatus.INTERRUPTED, f"teardown failed: {error}"
            env.owner_pid = None
            core.store.save_environment(env)
        raise OperationFailedError(f"tearing down {env.id} failed: {error}") from error
    ended = core.clock()
    _record(core, env, started, StepOutcome.OK, "; ".join(removed) or "nothing left to remove", view.recorded)
    if view.recorded:
        env.status, env.status_detail, env.endpoint = EnvironmentStatus.TORN_DOWN, reason, None
        env.owner_pid, env.updated_at = None, ended
        core.store.save_environment(env)
        core.events.emit(EnvironmentChanged(env.id, env.uid, ended, env))
    core.audit("teardown", env.id, f"{reason}: removed {len(removed)} resource(s)", env.id)
    return TeardownResult(env, removed, (ended - started).total_seconds())


def _destroy_everything(core: ServiceCore, runtime: Runtime, environment_id: str) -> list[str]:
    """The runtime's resources, then the environment's database when it lives on a server."""
    failpoints = core.orchestrator.failpoints
    failpoints.before_sync("destroy")
    removed = runtime.destroy(environment_id)
    failpoints.after("destroy")
    data = core.environment_data(environment_id, None) if core.engine.name == "postgres" else None
    if data is not None and core.engine.exists(data):
        core.engine.drop(data)
        removed.append(data.describe())
    return removed


def _record(
    core: ServiceCore, env: Environment, started: datetime, outcome: StepOutcome, detail: str, recorded: bool
) -> None:
    record = StepRecord(
        env.uid, env.id, "destroy", StepPhase.TEARDOWN, started, core.clock(), outcome, detail
    )
    if recorded:
        core.store.add_steps([record])
    core.events.emit(StepFinished(env.id, env.uid, record.ended_at, record))


@dataclass(frozen=True)
class GcAction:
    environment_id: str
    reason: str
    removed: list[str] = field(default_factory=list)
    error: str = ""


def leftover_grace(core: ServiceCore) -> timedelta:
    """How old resources without a record must be before gc takes them for leftovers: long enough for
    any provisioning run to have finished or failed (every step has step_timeout)."""
    return core.config.orchestrator.step_timeout * 2


def _gc_reason(core: ServiceCore, view: EnvironmentView) -> str | None:
    env, now = view.environment, core.clock()
    if view.status in BUSY:
        return None  # a live process is working on it
    if view.unreachable is not None and not env.is_expired(now):
        return None
    if env.is_expired(now):
        return "expired"
    if view.status is EnvironmentStatus.INTERRUPTED:
        return "interrupted"
    if not view.recorded and not view.running and now - env.created_at > leftover_grace(core):
        # Younger ones may be a teammate's environment still being made (an RDS restore takes minutes).
        return "leftover without a live record"
    if view.recorded and not view.resources:
        return "vanished from its runtime"
    return None


async def collect_garbage(core: ServiceCore, *, dry_run: bool = False) -> list[GcAction]:
    """Remove expired, interrupted and leftover environments; forget ones whose resources vanished."""
    actions = []
    for view in reconcile(core):
        reason = _gc_reason(core, view)
        if reason is None:
            continue
        if view.unreachable is not None:
            # Its resources may well be there: they are collected once the runtime answers again.
            actions.append(GcAction(view.environment.id, reason, error=f"skipped: {view.unreachable}"))
            continue
        if dry_run:
            actions.append(GcAction(view.environment.id, reason, list(view.resources)))
            continue
        try:
            result = await _destroy(core, view, f"gc: {reason}")
            actions.append(GcAction(view.environment.id, reason, result.removed))
        except (OperationFailedError, ConflictError) as error:
            actions.append(GcAction(view.environment.id, reason, error=str(error)))
    if not dry_run:
        for store in (core.golden, core.full_golden):
            with store.lock.hold():
                leftovers = [p.name for p in store.root.glob(".building-*")]
                if leftovers:
                    keep = core.config.strategies.snapshot.keep if store is core.golden else KEEP_FULL_GOLDEN
                    pruned = store.prune(keep)
                    await asyncio.to_thread(_drop_all, core, list(pruned.databases))
                    actions.append(GcAction("golden-copies", "abandoned golden builds", leftovers))
    if core.engine.name == "postgres":
        actions += await asyncio.to_thread(_server_leftovers, core, dry_run)
    actions += await asyncio.to_thread(_shared_leftovers, core, dry_run)
    actions += await asyncio.to_thread(_abandoned_temp_files, core, dry_run)
    return actions


STALE_TEMP_AGE = timedelta(minutes=10)
"""An atomic write's temp file lives for the length of one write: one this old lost its writer."""


def _abandoned_temp_files(core: ServiceCore, dry_run: bool) -> list[GcAction]:
    """Temp files of atomic writes whose process was killed mid-write (the files they were for are
    intact: only the rename makes a write visible)."""
    oldest = (core.clock() - STALE_TEMP_AGE).timestamp()
    found = []
    for path in core.paths.root.rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < oldest:
                found.append(path)
        except OSError:
            continue  # renamed or removed by its writer meanwhile
    if not dry_run:
        for path in found:
            path.unlink(missing_ok=True)
    names = [str(path.relative_to(core.paths.root)) for path in found]
    return [GcAction("temp-files", "temp files of interrupted writes", names)] if names else []


def _shared_leftovers(core: ServiceCore, dry_run: bool) -> list[GcAction]:
    """What environments shared on a runtime (seed volumes) that none uses any more."""
    actions = []
    for name, runtime in core.runtimes.items():
        try:
            removed = runtime.collect_shared(dry_run)
        except RuntimeOperationError as error:
            if any(v.environment.runtime == name for v in reconcile(core)):
                actions.append(GcAction(f"{name}-shared", "shared resources", error=str(error)))
            continue
        if removed:
            actions.append(GcAction(f"{name}-shared", "shared data no environment uses", removed))
    return actions


def _drop_all(core: ServiceCore, names: list[str]) -> None:
    dsn = core.server_dsn
    for name in names if dsn else []:
        core.engine.drop(DataLocation.postgres(dsn or "", name))


def _server_leftovers(core: ServiceCore, dry_run: bool) -> list[GcAction]:
    """Databases this installation made on the server that nothing refers to any more: environments that
    are gone (a crash between creating and recording them) and golden copies no store lists."""
    from stagetui.data.postgres.engine import PostgresEngine  # psycopg is only needed with PostgreSQL

    dsn, engine = core.server_dsn, core.engine
    if dsn is None or not isinstance(engine, PostgresEngine):
        return []
    tag = core.installation_tag
    live = {databases.environment_database(tag, v.environment.id) for v in reconcile(core)}
    goldens = core.golden.referenced_databases() | core.full_golden.referenced_databases()
    found = engine.list_databases(dsn, databases.environment_prefix(tag))
    found += engine.list_databases(dsn, databases.golden_prefix(tag))
    stale = sorted(name for name in found if name not in live and name not in goldens)
    if stale and not dry_run:
        _drop_all(core, stale)
    actions = [GcAction("server-databases", "databases nothing refers to", stale)] if stale else []
    # Logins outlive their database only when a crash came between dropping the one and the other.
    logins = engine.list_logins(dsn, databases.environment_prefix(tag))
    orphaned = sorted(set(logins) - set(found) - live)
    if orphaned and not dry_run:
        _drop_all(core, orphaned)  # dropping an absent database drops its login too
    if orphaned:
        actions.append(GcAction("server-logins", "logins of databases that are gone", orphaned))
    return actions
