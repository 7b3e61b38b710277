"""The warm pool: ready environments of one definition, provisioned ahead, that `up` hands to a branch in
well under a second while the pool refills behind it.

A pooled environment is an ordinary environment (same plan, same checks, same labels) whose labels say
which definition it was built from; claiming it changes its branch, owner and expiry, in the store and on
the runtime. The time a claim takes is recorded apart from provisioning times, so comparisons stay honest:
a claimed environment's provision_seconds is how long the pool took to build it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from stagetui.compose.sample import packaged_compose
from stagetui.domain.models import Environment, EnvironmentStatus, MetricSample, Strategy
from stagetui.runtimes.base import RuntimeOperationError
from stagetui.service import provisioning
from stagetui.service.core import ServiceCore
from stagetui.service.errors import ConflictError, OperationFailedError
from stagetui.service.events import EnvironmentChanged
from stagetui.service.queries import BUSY, EnvironmentView, reconcile
from stagetui.service.samples import record_samples
from stagetui.service.teardown import TeardownResult, tear_down
from stagetui.store.lock import StateLock, StoreLockTimeout

POOL_LABEL = "stagetui.pool"
"""The definition key a pooled environment was built from."""
CLAIMED_LABEL = "stagetui.pool.claimed"
"""When it was claimed; absent while it waits in the pool."""
POOL_BRANCH_PREFIX = "warm-pool/"
POOL_RUNTIME = "docker"


def definition_key(core: ServiceCore) -> str:
    """What a pooled environment must match to be handed out: the compose file, the pool's strategy and
    that strategy's settings. Changing any of them leaves older pooled environments unclaimed (stale)."""
    settings = core.config.runtimes.docker
    compose = settings.compose or packaged_compose()
    strategy = settings.warm_pool.strategy
    digest = hashlib.sha256()
    digest.update(compose.read_bytes() if compose.is_file() else str(compose).encode())
    digest.update(strategy.value.encode())
    digest.update(getattr(core.config.strategies, strategy.value).model_dump_json().encode())
    return digest.hexdigest()[:12]


def is_waiting(env: Environment) -> bool:
    """A pooled environment nobody has claimed yet."""
    return POOL_LABEL in env.labels and CLAIMED_LABEL not in env.labels


@dataclass(frozen=True)
class PoolStatus:
    size: int
    key: str
    strategy: Strategy
    ready: list[EnvironmentView] = field(default_factory=list)
    building: list[EnvironmentView] = field(default_factory=list)
    stale: list[EnvironmentView] = field(default_factory=list)
    """Waiting environments of another definition (or broken ones): drained by the next fill."""

    @property
    def missing(self) -> int:
        return max(0, self.size - len(self.ready) - len(self.building))


def pool_status(core: ServiceCore, views: list[EnvironmentView] | None = None) -> PoolStatus:
    settings = core.config.runtimes.docker.warm_pool
    key = definition_key(core)
    status = PoolStatus(settings.size, key, settings.strategy)
    now = core.clock()
    for view in reconcile(core) if views is None else views:
        env = view.environment
        if not is_waiting(env) or env.runtime != POOL_RUNTIME or view.unreachable is not None:
            continue  # an engine that does not answer says nothing about its environments' health
        if env.labels.get(POOL_LABEL) != key or env.strategy is not settings.strategy or env.is_expired(now):
            status.stale.append(view)
        elif view.status in BUSY:
            status.building.append(view)
        elif view.status is EnvironmentStatus.READY and view.running and view.recorded:
            status.ready.append(view)
        else:
            status.stale.append(view)
    return status


def _eligible(core: ServiceCore, request: provisioning.UpRequest) -> bool:
    settings = core.config.runtimes.docker.warm_pool
    return settings.size > 0 and request.runtime == POOL_RUNTIME and request.strategy is settings.strategy


def claim(core: ServiceCore, request: provisioning.UpRequest) -> Environment | None:
    """Hand the oldest ready pooled environment to the request's branch; None when the request is not for
    the pool or the pool has none ready (the caller then provisions cold)."""
    if not _eligible(core, request):
        return None
    provisioning.check_request(core, request)
    started = time.monotonic()
    with core.store.transaction():
        views = reconcile(core)
        provisioning.refuse_duplicates(views, request)
        ready = pool_status(core, views).ready
        if not ready:
            return None
        env = min(ready, key=lambda v: v.environment.created_at).environment
        now = core.clock()
        env.branch, env.owner = request.branch, request.owner or core.owner
        env.expires_at = now + request.ttl
        env.labels = {**env.labels, CLAIMED_LABEL: now.isoformat()}
        env.status_detail, env.updated_at = "claimed from the warm pool", now
        # On the runtime first: if that fails, the environment stays in the pool, unclaimed.
        try:
            core.runtime(env.runtime).relabel(env)
        except RuntimeOperationError as error:
            raise OperationFailedError(f"claiming {env.id} from the warm pool failed: {error}") from None
        env.claim_seconds = time.monotonic() - started
        core.store.save_environment(env)
    sample = MetricSample(
        now, "pool.claim_seconds", env.claim_seconds, env.uid, env.id, env.strategy, env.runtime, env.branch
    )
    record_samples(core, [sample])
    core.audit("claim", env.id, f"claimed from the warm pool for branch {env.branch}", env.id)
    core.events.emit(EnvironmentChanged(env.id, env.uid, now, env))
    return env


@dataclass(frozen=True)
class FillResult:
    built: list[provisioning.UpResult] = field(default_factory=list)
    drained: list[TeardownResult] = field(default_factory=list)
    busy: bool = False
    """Another process was filling the pool: this one did nothing."""


async def fill(core: ServiceCore, on_start: Callable[[int], None] | None = None) -> FillResult:
    """Drain stale pooled environments and provision the missing ones, in parallel up to the
    orchestrator's limit, until none is missing (claims made meanwhile count). One filler at a time: a
    second returns at once with busy=True."""
    lock = StateLock(core.paths.locks / "warm-pool.lock", timeout=0)
    try:
        lock.acquire()
    except StoreLockTimeout:
        return FillResult(busy=True)
    try:
        built: list[provisioning.UpResult] = []
        drained: list[TeardownResult] = []
        for _round in range(3):  # claims during a fill open new gaps; a few rounds close them
            status = pool_status(core)
            for view in status.stale:
                # Claimed meanwhile, or a teardown that failed (gc retries it): the fill goes on.
                with contextlib.suppress(ConflictError, OperationFailedError):
                    drained.append(
                        await tear_down(
                            core, view.environment.id, reason="stale in the warm pool", only_if=is_waiting
                        )
                    )
            requests = [_pool_request(core, status.key) for _ in range(status.missing)]
            if not requests:
                break
            if on_start:
                on_start(len(requests))
            results = await asyncio.gather(*(provisioning.provision(core, r) for r in requests))
            built += results
            if not all(r.ok for r in results):
                break  # a build that fails would fail again: report it rather than loop
        return FillResult(built, drained)
    finally:
        lock.release()


def _pool_request(core: ServiceCore, key: str) -> provisioning.UpRequest:
    settings = core.config.runtimes.docker.warm_pool
    return provisioning.UpRequest(
        f"{POOL_BRANCH_PREFIX}{uuid.uuid4().hex[:8]}",
        settings.strategy,
        POOL_RUNTIME,
        settings.ttl,
        labels={POOL_LABEL: key},
    )


async def drain(core: ServiceCore) -> tuple[list[TeardownResult], list[str]]:
    """Tear down every environment waiting in the pool (claimed ones belong to their branches now);
    returns what was drained and what could not be, and goes on past failures."""
    waiting = [v for v in reconcile(core) if is_waiting(v.environment) and v.status not in BUSY]
    results, errors = [], []
    for view in waiting:
        try:
            results.append(
                await tear_down(core, view.environment.id, reason="warm pool drained", only_if=is_waiting)
            )
        except ConflictError:
            continue  # claimed or being torn down right now
        except OperationFailedError as error:
            errors.append(str(error))
    return results, errors


def without_waiting(views: list[EnvironmentView]) -> list[EnvironmentView]:
    """The environments people work with: pooled ones are shown by `stagetui pool status`."""
    return [v for v in views if not is_waiting(v.environment)]
