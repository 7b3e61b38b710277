"""A frozen, seeded stagetui for the UI snapshot tests.

Five environments of the three strategies, written straight into the store with fixed uids, times (relative
to FROZEN), step records and real drift checks; a clock that never moves; and a stand-in "local" runtime that
reports them as it would if their services ran. Nothing is provisioned and no process is started, so every
screen renders the same on every run and every machine.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from stagetui.config.model import StagetuiConfig
from stagetui.domain.drift import Approval, DriftReport, SeverityRule, compute_drift
from stagetui.domain.ids import environment_id
from stagetui.domain.models import (
    CheckRecord,
    DriftSummary,
    Environment,
    EnvironmentStatus,
    StepOutcome,
    StepPhase,
    StepRecord,
    Strategy,
)
from stagetui.domain.nodes import NodeCapacity
from stagetui.domain.service_status import ServiceStatus
from stagetui.runtimes.base import (
    DiscoveredEnvironment,
    Progress,
    Runtime,
    RuntimeOperationError,
    Workspace,
    environment_labels,
)
from stagetui.service.api import StagetuiService
from stagetui.service.paths import STATE_DIR_ENV
from stagetui.ui.app import StagetuiApp
from tests.conftest import SMALL_CONFIG

FROZEN = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
"""The only "now" the seeded service knows."""


def ago(**delta: float) -> datetime:
    return FROZEN - timedelta(**delta)


# --- the runtime double -----------------------------------------------------------------------------------
class NeverProvisions(AssertionError):
    """A snapshot test reached a runtime operation that changes something."""


class FrozenRuntime(Runtime):
    """Test double for the "local" runtime, only so that the snapshots render deterministically.

    Reconciliation asks the runtime what exists: with nothing running, every READY record would show as
    degraded. This double reports the seeded environments as a real runtime would (labels from
    `environment_labels`), answers `log_tail` with fixed lines, and raises on every operation that would
    create, start or destroy anything: these tests never provision.
    """

    def __init__(self, environments: list[tuple[Environment, bool]], name: str = "local") -> None:
        """`environments`: each with whether its services run (a stopped one still has its workspace)."""
        self.name = name
        self.found = [self._found(env, running) for env, running in environments]

    @staticmethod
    def _found(env: Environment, running: bool) -> DiscoveredEnvironment:
        resources = (f"workspace {env.id}", f"service {env.id}") if running else (f"workspace {env.id}",)
        return DiscoveredEnvironment(env.id, environment_labels(env), running, resources)

    def discover(self) -> list[DiscoveredEnvironment]:
        return list(self.found)

    def is_running(self, environment_id: str) -> bool:
        return any(f.environment_id == environment_id and f.running for f in self.found)

    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        return None  # drift of seeded environments comes from their stored checks

    def log_tail(self, environment_id: str, lines: int = 20) -> list[str]:
        return [
            f"2025-03-14T11:59:5{n} INFO  {environment_id} GET /health 200 ({n + 1} ms)" for n in range(3)
        ][-lines:]

    def service_status(self, environment_id: str) -> list[ServiceStatus]:
        if not self.is_running(environment_id):
            return []
        return [
            ServiceStatus(
                "app", "running", "healthy", 1.5, 38 * 2**20, 512 * 2**20, 0, ("127.0.0.1:49153->8080/tcp",)
            ),
            ServiceStatus("assets", "running", "healthy", 0.0, 900 * 2**10, None, 0),
            ServiceStatus("worker", "running", None, 0.2, 1200 * 2**10, None, 2),
        ]

    def create_workspace(self, env: Environment) -> Workspace:
        raise NeverProvisions(f"create_workspace({env.id})")

    def workspace(self, environment_id: str) -> Workspace:
        raise NeverProvisions(f"workspace({environment_id})")

    def start_services(
        self, env: Environment, workspace: Workspace, timeout: float, progress: Progress | None = None
    ) -> str:
        raise NeverProvisions(f"start_services({env.id})")

    def relabel(self, env: Environment) -> None:
        raise NeverProvisions(f"relabel({env.id})")

    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        raise NeverProvisions(f"wait_healthy({env.id})")

    def destroy(self, environment_id: str) -> list[str]:
        raise NeverProvisions(f"destroy({environment_id})")


class FrozenCluster(FrozenRuntime):
    """Test double for the "swarm" runtime: a cluster with fixed nodes, or one whose manager does not answer
    (`error`), as `nodes()` of the real one raises it. It holds no environment of its own."""

    cluster = True

    def __init__(self, nodes: list[NodeCapacity], name: str = "swarm", error: str | None = None) -> None:
        super().__init__([], name=name)
        self.fixed_nodes = nodes
        self.error = error

    def nodes(self) -> list[NodeCapacity]:
        if self.error is not None:
            raise RuntimeOperationError(self.error)
        return list(self.fixed_nodes)


GIB = 2**30
NO_ENGINE = (
    "Swarm manager at unix:///var/run/docker.sock: the Docker engine does not answer (Error while fetching "
    "server API version: ('Connection aborted.', FileNotFoundError(2, 'No such file or directory')))"
)
"""What the swarm runtime says on a machine without Docker."""


def seeded_nodes(planted: list[Seed]) -> list[NodeCapacity]:
    """Four nodes: the leader and a worker running tasks of the full clone and two others, a drained worker
    and a worker that is down. (The seeded environments run on "local": these placements only exercise the
    nodes screen, which reads nothing but what the cluster reports.)"""
    search, _, payments, _, release = (seed.env.id for seed in planted)
    return [
        NodeCapacity(
            "n3w0rk3r2aaaaaaaaaaaaaaa", "swarm-worker-2", "worker", "drain", "ready", "10.0.0.13",
            8, 16 * GIB, engine_version="27.3.1",
        ),
        NodeCapacity(
            "n1m4n4g3r1aaaaaaaaaaaaaa", "swarm-manager-1", "manager", "active", "ready", "10.0.0.11",
            4, 8 * GIB, leader=True, engine_version="27.3.1", tasks=2,
            environments={release: 1, search: 1}, reserved_cpus=1.0, reserved_memory_bytes=GIB,
        ),
        NodeCapacity(
            "n2w0rk3r1aaaaaaaaaaaaaaa", "swarm-worker-1", "worker", "active", "ready", "10.0.0.12",
            8, 16 * GIB, engine_version="27.3.1", tasks=3,
            environments={release: 2, payments: 1}, reserved_cpus=1.5, reserved_memory_bytes=GIB + GIB // 2,
        ),
        NodeCapacity(
            "n4w0rk3r3aaaaaaaaaaaaaaa", "swarm-worker-3", "worker", "active", "down", "10.0.0.14",
            4, 8 * GIB, engine_version="27.3.1",
        ),
    ]  # fmt: skip


# --- config trees for real drift checks -------------------------------------------------------------------
PRODUCTION_TREE: dict[str, Any] = {
    "app": {
        "service": {"instance": "prod-eu-1", "workers": 8, "log_level": "info"},
        "security": {"csrf": True, "session_timeout": 900},
        "cache": {"ttl": 300},
    },
    "feature_flags": {"new_checkout": False, "dark_mode": True},
    "env": {
        "DATABASE_URL": "postgres://shop:pr0d-pass@db-prod:5432/shop",
        "PAYMENT_API_KEY": "pk_live_9f8e7d6c",
    },
}


REMOVE = object()
"""A change that deletes the key from the environment's tree."""


def environment_tree(env_id: str, changes: Mapping[str, object] = MappingProxyType({})) -> dict[str, Any]:
    """Production's tree as an environment runs it: its own instance name, database and secrets (the first
    two approved in SMALL_CONFIG, the secret not drift at all); then `changes`, by dotted path."""
    tree = copy.deepcopy(PRODUCTION_TREE)
    tree["app"]["service"]["instance"] = env_id
    tree["env"]["DATABASE_URL"] = f"postgres://shop:env-pass@127.0.0.1:5432/{env_id}"
    tree["env"]["PAYMENT_API_KEY"] = "pk_test_0a1b2c3d"
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        if value is REMOVE:
            del node[leaf]
        else:
            node[leaf] = value
    return tree


def drift_report(config: StagetuiConfig, environment: Mapping[str, object]) -> DriftReport:
    rules = config.drift
    return compute_drift(
        PRODUCTION_TREE,
        environment,
        severity_rules=[SeverityRule(r.pattern, r.severity) for r in rules.severity],
        default_severity=rules.default_severity,
        approvals=[Approval(a.pattern, a.reason, a.approver, a.expires) for a in rules.approved],
        today=FROZEN.date(),
        secret_patterns=rules.secret_patterns,
    )


# --- the seeded environments ------------------------------------------------------------------------------
@dataclass
class Seed:
    env: Environment
    running: bool
    steps: list[StepRecord] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)


def _steps(
    env: Environment, *rows: tuple[str, float, StepOutcome, str], phase_of: dict[str, StepPhase] | None = None
) -> list[StepRecord]:
    """Consecutive step records from `env.created_at`: (name, seconds, outcome, detail)."""
    records, at = [], env.created_at
    for name, seconds, outcome, detail in rows:
        end = at + timedelta(seconds=seconds)
        phase = (phase_of or {}).get(name, StepPhase.PROVISION)
        records.append(StepRecord(env.uid, env.id, name, phase, at, end, outcome, detail))
        at = end
    return records


def _with_drift(seed: Seed, config: StagetuiConfig, tree: Mapping[str, object]) -> Seed:
    """Record a drift check of `tree` against production (as the check_drift step does) and its summary."""
    env = seed.env
    report = drift_report(config, tree)
    at = env.created_at + timedelta(seconds=env.provision_seconds or 0)
    worst = report.worst
    env.drift = DriftSummary(report.count, worst.value if worst else None, report.approved_count, at)
    seed.checks.append(CheckRecord(env.uid, "drift", at, report.ok, report.summary(), report.to_dict()))
    return seed


def _with_fidelity(seed: Seed) -> Seed:
    """Record the anonymization, no-leak proof and integrity checks a full clone makes (names and counts)."""
    env = seed.env
    at = env.created_at + timedelta(seconds=env.provision_seconds or 0)
    masked = [
        ("customers", "full_name", "fake_name", 50_000),
        ("customers", "email", "fake_email", 50_000),
        ("customers", "phone", "fake_phone", 49_998),
        ("customers", "address", "fake_address", 50_000),
        ("customers", "birth_date", "date_shift", 49_871),
        ("customers", "id", "keep", 0),
        ("orders", "shipping_address", "fake_address", 249_120),
        ("payments", "payer_email", "fake_email", 231_400),
        ("payments", "card_last4", "null", 198_004),
    ]
    columns = [{"table": t, "column": c, "kind": k, "changed": n} for t, c, k, n in masked]
    proofs = [
        {"table": t, "column": c, "kind": k, "row_leaks": 0, "set_leaks": 0}
        for t, c, k, _ in masked
        if k != "keep"
    ]
    keys = [
        ("accounts", "customer_id", "customers"),
        ("orders", "customer_id", "customers"),
        ("orders", "account_id", "accounts"),
        ("order_items", "order_id", "orders"),
        ("order_items", "product_id", "products"),
        ("payments", "order_id", "orders"),
        ("payments", "account_id", "accounts"),
    ]
    fks = [{"foreign_key": f"{t}.{c} -> {p}.id", "table": t, "orphans": 0} for t, c, p in keys]
    seed.checks += [
        CheckRecord(env.uid, "anonymization", at, True, "masked 8 columns in 3 tables", {"columns": columns}),
        CheckRecord(env.uid, "masking", at, True, "verified 8 masked columns: no leaks", {"columns": proofs}),
        CheckRecord(env.uid, "integrity", at, True, "7 foreign keys, 0 orphans", {"foreign_keys": fks}),
    ]
    return seed


def _environment(
    uid: str,
    branch: str,
    strategy: Strategy,
    owner: str,
    created: datetime,
    ttl: timedelta,
    status: EnvironmentStatus = EnvironmentStatus.READY,
    **fields: Any,
) -> Environment:
    return Environment(
        uid=uid,
        id=environment_id(branch, strategy),
        branch=branch,
        strategy=strategy,
        runtime="local",
        owner=owner,
        created_at=created,
        expires_at=created + ttl,
        status=status,
        updated_at=created,
        **fields,
    )


def seeds(config: StagetuiConfig) -> list[Seed]:
    """Newest first, as the dashboard orders them."""
    ok, skipped, failed = StepOutcome.OK, StepOutcome.SKIPPED, StepOutcome.FAILED

    # Containerized, fresh data, no unapproved drift (two approved differences).
    search = _environment(
        "0000000000000000000000000000a001", "feat/search-v2", Strategy.CONTAINERIZED, "alice",
        ago(minutes=25), timedelta(hours=8),
        endpoint="http://127.0.0.1:41801", data_as_of=ago(minutes=24, seconds=20),
        data_source="1.0% subset of production by customers", max_data_age=timedelta(hours=24),
        orphans=0, provision_seconds=38.4, data_bytes=12_400_000,
    )  # fmt: skip
    search_seed = _with_drift(Seed(search, running=True), config, environment_tree(search.id))

    # Snapshot whose provisioning failed and whose rollback failed too: interrupted, leftovers on the runtime.
    graphql = _environment(
        "0000000000000000000000000000a002", "spike/graphql", Strategy.SNAPSHOT, "bob",
        ago(hours=1), timedelta(hours=4), EnvironmentStatus.INTERRUPTED,
        status_detail="health_check: no answer within 20s; rolled back with errors",
        max_data_age=timedelta(hours=36),
    )  # fmt: skip
    graphql_seed = Seed(graphql, running=False)
    destroy = f"destroy {graphql.id} on local"
    graphql_seed.steps = _steps(
        graphql,
        ("prepare_production", 0.3, skipped, "production present"),
        ("ensure_snapshot", 0.5, skipped, "golden gs-20250313-0700 is fresh"),
        ("provision_runtime", 0.1, ok, f"workspace {graphql.id} on local"),
        ("restore_data", 6.2, ok, "restored 412.6 MB from golden gs-20250313-0700 by reflink"),
        ("verify_integrity", 1.3, ok, "0 orphan rows in 7 foreign keys"),
        ("start_services", 2.4, ok, "listening at http://127.0.0.1:41877"),
        ("health_check", 20.0, failed, "RuntimeOperationError: no answer from /health within 20s"),
        (destroy, 5.2, failed, "RuntimeOperationError: process 4242 did not stop within 2s"),
        phase_of={destroy: StepPhase.ROLLBACK},
    )

    # Snapshot restored from a golden copy 29h old (aging against 36h), two minor differences.
    payments = _environment(
        "0000000000000000000000000000a003", "fix/payment-retry", Strategy.SNAPSHOT, "carol",
        ago(hours=3, minutes=10), timedelta(hours=8),
        endpoint="http://127.0.0.1:41812", data_as_of=ago(hours=29),
        data_source="golden snapshot gs-20250313-0700", max_data_age=timedelta(hours=36),
        orphans=0, provision_seconds=14.7, data_bytes=412_600_000,
    )  # fmt: skip
    payments_seed = _with_drift(
        Seed(payments, running=True),
        config,
        environment_tree(payments.id, {"app.service.log_level": "debug", "app.cache.warmup": True}),
    )

    # Containerized with synthetic data whose service died: degraded, and its TTL runs out in 10 minutes.
    cache = _environment(
        "0000000000000000000000000000a004", "exp/cache-warmup", Strategy.CONTAINERIZED, "alice",
        ago(hours=7, minutes=50), timedelta(hours=8),
        endpoint="http://127.0.0.1:41790", data_source="synthetic", max_data_age=timedelta(hours=24),
        orphans=0, provision_seconds=9.8, data_bytes=3_100_000,
    )  # fmt: skip
    # Its config is production's exactly, so both approvals of SMALL_CONFIG match nothing: stale approvals.
    cache_seed = _with_drift(Seed(cache, running=False), config, PRODUCTION_TREE)

    # Full clone made 29 hours ago: stale data, critical drift, a removed secret. The selected row.
    release = _environment(
        "0000000000000000000000000000a005", "release/2.4", Strategy.FULL_CLONE, "ci-bot",
        ago(hours=29, minutes=5), timedelta(days=2),
        endpoint="http://127.0.0.1:41650", data_as_of=ago(hours=29, minutes=4),
        data_source="full copy of production", max_data_age=timedelta(hours=24),
        orphans=0, provision_seconds=135.4, data_bytes=4_126_000_000,
        database="postgres database stagetui_5e1f0a_env_release_2_4_clone_fcffc",
    )  # fmt: skip
    release_seed = _with_fidelity(Seed(release, running=True))
    release_seed.steps = _steps(
        release,
        ("prepare_production", 0.2, skipped, "production present"),
        ("provision_runtime", 0.1, ok, f"workspace {release.id} on local"),
        ("restore_data", 48.2, ok, "backed up 4126.0 MB of production"),
        ("anonymize", 71.9, ok, "masked 9 columns in 3 tables"),
        ("verify_anonymization", 6.3, ok, "no production value left in masked columns"),
        ("verify_integrity", 4.8, ok, "0 orphan rows in 7 foreign keys"),
        ("start_services", 2.1, ok, "listening at http://127.0.0.1:41650"),
        ("health_check", 1.6, ok, "healthy"),
        ("check_drift", 0.2, ok, "6 unapproved (worst: critical), 2 approved"),
    )
    changes = {
        "app.security.csrf": False,  # critical
        "feature_flags.new_checkout": True,  # major
        "app.service.workers": 2,  # changed, minor
        "app.cache.ttl": REMOVE,  # removed
        "app.debug_toolbar": True,  # added
        "env.PAYMENT_API_KEY": REMOVE,  # a missing secret is drift; its value shows as ***
    }
    release_seed = _with_drift(release_seed, config, environment_tree(release.id, changes))
    return [search_seed, graphql_seed, payments_seed, cache_seed, release_seed]


SEARCH, GRAPHQL, PAYMENTS, CACHE, RELEASE = range(5)
"""Row of each seeded environment on the dashboard (newest first)."""


# --- the service and the app ------------------------------------------------------------------------------
def seeded_config(theme: str = "stagetui-dark") -> StagetuiConfig:
    data = yaml.safe_load(SMALL_CONFIG.format(customers=400))
    return StagetuiConfig.model_validate({**data, "owner": "snapshot-tests", "ui": {"theme": theme}})


def seeded_service(state_dir: Path, config: StagetuiConfig) -> tuple[StagetuiService, list[Seed]]:
    service = StagetuiService.open(config, {STATE_DIR_ENV: str(state_dir)}, clock=lambda: FROZEN)
    planted = seeds(config)
    store = service.core.store
    for seed in planted:
        store.save_environment(seed.env)
        store.add_steps(seed.steps)
        store.add_checks(seed.checks)
    service.core.runtimes["local"] = FrozenRuntime([(seed.env, seed.running) for seed in planted])
    # No engine is asked: whatever a Docker engine on this machine holds must not reach the snapshots.
    service.core.runtimes["docker"] = FrozenRuntime([], name="docker")
    service.core.runtimes["swarm"] = FrozenCluster(seeded_nodes(planted))
    return service, planted


def seeded_app(state_dir: Path, theme: str = "stagetui-dark") -> tuple[StagetuiApp, list[Seed]]:
    service, planted = seeded_service(state_dir, seeded_config(theme))
    return StagetuiApp(service), planted
