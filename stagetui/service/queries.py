"""Read side: environments reconciled with what the runtimes actually hold, and one environment's detail.

The runtime is the source of truth for what exists; the store keeps history. An environment recorded as
live whose provisioning process died is marked interrupted; resources found on a runtime without a live
record are shown as unrecorded (a teammate's, or left by a crash) so nothing stays invisible.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from stagetui.domain.fidelity import TableFidelity, table_fidelity
from stagetui.domain.freshness import Freshness, assess_freshness
from stagetui.domain.models import CheckRecord, Environment, EnvironmentStatus, StepRecord, Strategy
from stagetui.domain.service_status import ServiceStatus
from stagetui.runtimes.base import (
    LABEL_PREFIX,
    DiscoveredEnvironment,
    RuntimeOperationError,
)
from stagetui.service.core import ServiceCore
from stagetui.service.errors import ConflictError, NotFoundError

BUSY = {EnvironmentStatus.PROVISIONING, EnvironmentStatus.TEARING_DOWN}


@dataclass(frozen=True)
class EnvironmentView:
    environment: Environment
    status: EnvironmentStatus
    """Reconciled status: what the store says, corrected by what the runtime shows."""
    running: bool
    recorded: bool
    """False when only the runtime knows it (no live record in this store)."""
    freshness: Freshness
    resources: tuple[str, ...] = ()
    unreachable: str | None = None
    """Why its runtime could not be asked (e.g. the Docker engine is down): status is the store's then."""


@dataclass(frozen=True)
class EnvironmentDetail:
    view: EnvironmentView
    steps: list[StepRecord]
    checks: list[CheckRecord]
    log_tail: list[str] = field(default_factory=list)
    services: list[ServiceStatus] = field(default_factory=list)
    """Each service's state, health and resource use, where the runtime can tell."""
    cost_per_day: float | None = None
    """Estimated, by the price table (or the runtime's estimate from its actual resources)."""
    billed: float | None = None
    """What the provider billed for it so far, where that is known (AWS Cost Explorer)."""
    currency: str = "USD"

    def latest_check(self, kind: str) -> CheckRecord | None:
        found = [c for c in self.checks if c.kind == kind]
        return found[-1] if found else None

    def fidelity(self) -> list[TableFidelity]:
        """Per table: masking, the no-leak proof and orphans, from the latest checks of each kind."""
        results = [self.latest_check(kind) for kind in ("anonymization", "masking", "integrity")]
        anonymization, masking, integrity = (c.result if c else None for c in results)
        return table_fidelity(anonymization, masking, integrity)


def _owner_alive(core: ServiceCore, env: Environment) -> bool:
    if env.owner_pid is None or env.owner_host != core.hostname:
        return True  # another machine's process: cannot tell, do not guess
    try:
        os.kill(env.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconcile(core: ServiceCore, now: datetime | None = None) -> list[EnvironmentView]:
    """Live environments of every runtime, newest first. Marks dead provisioning runs interrupted."""
    now = now or core.clock()
    looked_at = core.clock()
    discovered: dict[tuple[str, str], DiscoveredEnvironment] = {}
    unreachable: dict[str, str] = {}
    for name, runtime in core.runtimes.items():
        try:
            resources = runtime.discover()
        except RuntimeOperationError as error:
            unreachable[name] = str(error)
            continue
        for resource in resources:
            discovered[(name, resource.environment_id)] = resource
    views = []
    with core.store.transaction():
        for env in core.store.environments():
            if not env.status.is_live:
                _forget_if_torn_down_meanwhile(discovered, env, looked_at)
                continue
            if env.status in BUSY and not _owner_alive(core, env):
                env.status = EnvironmentStatus.INTERRUPTED
                env.status_detail = f"the process working on it (pid {env.owner_pid}) died"
                env.updated_at = now
                core.store.save_environment(env)
            if env.runtime in unreachable:  # cannot tell: show what the store says, and why
                views.append(
                    replace(
                        _view(env, env.status, False, True, now, None), unreachable=unreachable[env.runtime]
                    )
                )
                continue
            found = discovered.pop((env.runtime, env.id), None)
            running = bool(found and found.running)
            status = env.status
            if status is EnvironmentStatus.READY and not running:
                status = EnvironmentStatus.DEGRADED
            views.append(_view(env, status, running, True, now, found))
    for (runtime_name, _), unrecorded in discovered.items():
        env = _from_labels(unrecorded, runtime_name, now)
        status = EnvironmentStatus.READY if unrecorded.running else EnvironmentStatus.DEGRADED
        views.append(_view(env, status, unrecorded.running, False, now, unrecorded))
    return sorted(views, key=lambda v: v.environment.created_at, reverse=True)


def _forget_if_torn_down_meanwhile(
    discovered: dict[tuple[str, str], DiscoveredEnvironment], env: Environment, looked_at: datetime
) -> None:
    """The runtimes are asked before the store is read: an environment another process tore down in
    between was seen on its way out, not left over (taking it for a leftover let a second `down` or a
    `gc` "remove" it again, or remove a new environment of the same id)."""
    found = discovered.get((env.runtime, env.id))
    if found is not None and found.uid == env.uid and env.updated_at and env.updated_at >= looked_at:
        del discovered[(env.runtime, env.id)]


def _view(
    env: Environment,
    status: EnvironmentStatus,
    running: bool,
    recorded: bool,
    now: datetime,
    found: DiscoveredEnvironment | None,
) -> EnvironmentView:
    freshness = assess_freshness(env.data_as_of, env.max_data_age, now)
    return EnvironmentView(env, status, running, recorded, freshness, found.resources if found else ())


def _from_labels(found: DiscoveredEnvironment, runtime: str, now: datetime) -> Environment:
    labels = found.labels

    def label(name: str, default: str = "") -> str:
        return labels.get(f"{LABEL_PREFIX}{name}", default)

    def when(name: str) -> datetime:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(label(name))
        return now

    strategy = label("strategy")
    return Environment(
        uid=label("uid") or f"unrecorded-{found.environment_id}",
        id=found.environment_id,
        branch=label("branch", "?"),
        strategy=Strategy(strategy) if strategy in Strategy._value2member_map_ else Strategy.CONTAINERIZED,
        runtime=runtime,
        owner=label("owner", "?"),
        created_at=when("created"),
        expires_at=when("expires"),
        status=EnvironmentStatus.DEGRADED,
        status_detail="found on the runtime without a live record in this store",
        labels=dict(labels),
    )


def history(core: ServiceCore) -> list[EnvironmentView]:
    """Environments that ended (torn down or failed), newest first."""
    now = core.clock()
    ended = [e for e in core.store.environments() if not e.status.is_live]
    return [
        _view(env, env.status, False, True, now, None)
        for env in sorted(ended, key=lambda e: e.created_at, reverse=True)
    ]


def resolve(core: ServiceCore, reference: str, *, include_history: bool = False) -> EnvironmentView:
    """Find an environment by id (or uid), branch name, or unique id prefix; live ones first."""
    views = reconcile(core)
    for matches in (
        [v for v in views if reference in {v.environment.id, v.environment.uid}],
        [v for v in views if v.environment.branch == reference],
        [v for v in views if v.environment.id.startswith(reference)] if reference else [],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(v.environment.id for v in matches)
            raise ConflictError(f"{reference!r} matches several environments: {ids}; use an id")
    if include_history:
        past = [e for e in core.store.environments() if reference in {e.id, e.uid, e.branch}]
        if past:
            latest = max(past, key=lambda e: e.created_at)
            return _view(latest, latest.status, False, True, core.clock(), None)
    raise NotFoundError(f"no environment matches {reference!r} (see `stagetui ls`)")


def detail(core: ServiceCore, reference: str, *, with_services: bool = True) -> EnvironmentDetail:
    """Everything about one environment; with_services also asks its runtime for live service status
    (resource use takes the Docker engine about a second to sample)."""
    view = resolve(core, reference, include_history=True)
    env = view.environment
    steps = core.store.steps(env.uid, since=env.created_at) if view.recorded else []
    checks = core.store.checks(env.uid, since=env.created_at) if view.recorded else []
    runtime = core.runtimes.get(env.runtime)
    asked = runtime is not None and view.status.is_live and view.unreachable is None
    tail = runtime.log_tail(env.id) if runtime and asked else []
    services = runtime.service_status(env.id) if runtime and asked and with_services else []
    moved = runtime.current_endpoint(env.id) if runtime and asked and with_services else None
    if moved is not None and moved != env.endpoint:
        # Its endpoint task now runs elsewhere (a drained node): show where it answers, not where it did.
        view = replace(view, environment=replace(env, endpoint=moved))
    now = core.clock()
    billed = (
        runtime.actual_cost(env.id, env.created_at.date(), (now + timedelta(days=1)).date())
        if runtime and asked and with_services
        else None
    )
    per_day = core.cost_model.per_day(env)
    return EnvironmentDetail(view, steps, checks, tail, services, per_day, billed, core.cost_model.currency)
