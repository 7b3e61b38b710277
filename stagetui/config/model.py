"""The configuration model. Every field has a docstring; unknown keys are errors, never ignored.

`sample_config.yaml` is the commented reference of this model; a test keeps the two in step.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.config.keymap import BINDING_IDS
from stagetui.config.sections import PositiveDuration, Section
from stagetui.config.swarm import SwarmRuntimeConfig
from stagetui.domain.anonymize import MaskKind
from stagetui.domain.benchmarks import Aggregation, Benchmark, Direction, Scope
from stagetui.domain.drift import Severity
from stagetui.domain.ids import is_valid_owner
from stagetui.domain.models import Strategy

_Section = Section


class DefaultsConfig(_Section):
    strategy: Strategy = Strategy.CONTAINERIZED
    """Strategy used by `up` when neither --strategy nor --tier is given."""
    runtime: Literal["local", "docker", "swarm", "aws"] = "local"
    """Runtime used by `up` when --runtime is not given: local processes, a Docker Engine, a Docker Swarm
    cluster, or AWS (snapshot environments only)."""
    ttl: PositiveDuration = timedelta(hours=8)
    """How long an environment lives before `gc` removes it."""


class OrchestratorConfig(_Section):
    max_parallel: int = Field(default=4, ge=1, le=256)
    """How many environments provision at the same time; the rest wait in line."""
    step_timeout: PositiveDuration = timedelta(minutes=15)
    """A step running longer than this fails (and the plan rolls back)."""


class ProductionConfig(_Section):
    database: Path | None = None
    """SQLite file of production. Unset (and no postgres): the generated sample production under the state
    directory."""
    postgres: str | None = Field(default=None, min_length=1)
    """Connection string of production on PostgreSQL (postgresql://user@host:port/dbname). Only read, in
    read-only transactions. Keep a password out of the file: ${VAR}, PGPASSWORD or a .pgpass file."""
    postgres_dump: Path | None = None
    """Instead of connecting to production: a pg_dump archive of it (-Fc file or -Fd directory), restored
    once into a database on data.postgres.dsn (again whenever the archive changes) that stands for it."""
    config: Path | None = None
    """Directory (or file) holding production's configuration. Unset: the sample production's."""

    @property
    def on_postgres(self) -> bool:
        return self.postgres is not None or self.postgres_dump is not None

    @field_validator("postgres")
    @classmethod
    def _names_a_database(cls, value: str | None) -> str | None:
        if value is not None and not _connection_parts(value).get("dbname"):
            raise ValueError("the connection string names no database (postgresql://host:port/DBNAME)")
        return value

    @model_validator(mode="after")
    def _one_database(self) -> ProductionConfig:
        chosen = [self.database, self.postgres, self.postgres_dump]
        if sum(value is not None for value in chosen) > 1:
            raise ValueError("set one of database (SQLite), postgres and postgres_dump")
        return self


def _connection_parts(dsn: str) -> dict[str, Any]:
    from psycopg import ProgrammingError  # only needed with PostgreSQL
    from psycopg.conninfo import conninfo_to_dict

    try:
        return dict(conninfo_to_dict(dsn))
    except ProgrammingError as error:
        # libpq quotes the offending part, which may hold the password: say what is wrong, not where.
        raise ValueError("not a PostgreSQL connection string (postgresql://user@host:port/dbname)") from error


class PostgresDataConfig(_Section):
    dsn: str | None = Field(default=None, min_length=1)
    """Server holding the golden copies and the environments' databases (any database on it, e.g.
    postgresql://stagetui@staging:5432/postgres); the role needs CREATEDB. Unset: production's server."""
    jobs: int = Field(default=2, ge=1, le=64)
    """Parallel jobs of pg_dump and pg_restore."""

    @field_validator("dsn")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            _connection_parts(value)
        return value


class DataConfig(_Section):
    change_column: str = Field(default="updated_at", min_length=1)
    """Column telling when a row last changed: data as-of times and incremental refreshes use it."""
    as_of: Literal["copy_time", "newest_change"] = "copy_time"
    """An environment's data as-of time: when its copy was read (copy_time), or the newest change_column
    value in it (newest_change), which also shows how far production itself lags."""
    incremental: bool = True
    """Refresh golden copies with the rows changed since their as-of time only; a full refresh is made
    whenever that cannot be done safely (schema changed, a table without change_column or key)."""
    max_orphans: int = Field(default=0, ge=0)
    """Integrity threshold: an environment with more rows pointing at missing parents fails (rolled back)."""
    postgres: PostgresDataConfig = PostgresDataConfig()
    """Where environments' databases live when production is on PostgreSQL."""


class SampleConfig(_Section):
    customers: int = Field(default=50_000, ge=10, le=5_000_000)
    """Customers in the generated sample production (about 16 rows in all per customer)."""
    seed: int = 1234
    """Seed of the generator: the same seed gives the same production."""


def _rule_shorthand(value: Any) -> Any:
    return {"rule": value} if isinstance(value, str) else value


class ColumnRuleConfig(_Section):
    rule: MaskKind
    """How the column is masked: hash, fake_name, fake_email, fake_phone, fake_address, date_shift, null,
    constant or keep."""
    value: str | None = None
    """The value written by the `constant` rule."""

    @model_validator(mode="after")
    def _value_only_for_constant(self) -> ColumnRuleConfig:
        if self.rule is MaskKind.CONSTANT and self.value is None:
            raise ValueError("the constant rule needs a value")
        if self.rule is not MaskKind.CONSTANT and self.value is not None:
            raise ValueError(f"only the constant rule takes a value, not {self.rule.value}")
        return self


ColumnRuleEntry = Annotated[ColumnRuleConfig, BeforeValidator(_rule_shorthand)]


class AnonymizationConfig(_Section):
    key_env: str = "STAGETUI_MASK_KEY"
    """Environment variable holding the masking key (at least 16 bytes). Keys never live in the config."""
    key_file: Path | None = None
    """File holding the masking key when the variable is unset. Unset: a key file under the state directory,
    created with mode 0600 on first use."""
    tables: dict[str, dict[str, ColumnRuleEntry]] = Field(default_factory=dict)
    """Rules per table and column. A table listed here is sensitive: see strict."""
    strict: bool = True
    """Refuse to copy a sensitive table that has a column without a rule (use `keep` for columns that hold
    no personal data), so a new PII column added to production cannot slip through unmasked."""


class FullCloneConfig(_Section):
    max_data_age: PositiveDuration = timedelta(hours=24)
    """Freshness target: data older than this is reported stale."""


class SnapshotConfig(_Section):
    refresh_after: PositiveDuration = timedelta(hours=24)
    """A golden snapshot older than this is refreshed before an environment is restored from it."""
    max_data_age: PositiveDuration = timedelta(hours=36)
    """Freshness target for environments restored from a snapshot."""
    keep: int = Field(default=2, ge=1, le=50)
    """How many golden snapshots to keep; older ones are deleted after a refresh."""


class ContainerizedConfig(_Section):
    seed: Literal["subset", "synthetic"] = "subset"
    """Seed data: a masked subset of production, or synthetic data generated from scratch."""
    subset_root: str = "customers"
    """Table the subset is drawn from; every row the chosen rows need comes along."""
    subset_fraction: float = Field(default=0.01, gt=0, le=1)
    """Share of the root table's rows in the subset."""
    subset_where: str | None = Field(default=None, min_length=1)
    """SQL condition on the root table the sample is drawn from (e.g. country = 'DE'); unset: all rows."""
    synthetic_customers: int = Field(default=200, ge=10)
    """Customers generated for synthetic seed data."""
    config_template: Path | None = None
    """Config template rendered for the environment. Unset: the sample service's template."""
    max_data_age: PositiveDuration = timedelta(hours=24)
    """Freshness target."""


class StrategiesConfig(_Section):
    full_clone: FullCloneConfig = FullCloneConfig()
    """Full clone: every row of production, anonymized; production's config."""
    snapshot: SnapshotConfig = SnapshotConfig()
    """Snapshot: restore from a refreshed, anonymized golden copy."""
    containerized: ContainerizedConfig = ContainerizedConfig()
    """Containerized: seed data and config defined in code; fastest and cheapest."""


class LocalRuntimeConfig(_Section):
    host: str = "127.0.0.1"
    """Address the environments' services listen on."""
    health_timeout: PositiveDuration = timedelta(seconds=30)
    """How long a service may take to answer its health check."""
    stop_timeout: PositiveDuration = timedelta(seconds=5)
    """How long a service may take to stop on SIGTERM before it is killed."""


class WarmPoolConfig(_Section):
    size: int = Field(default=0, ge=0, le=100)
    """Ready environments kept waiting to be claimed by `up` (0: no pool). Each runs like any other
    environment and costs the same while it waits."""
    strategy: Strategy = Strategy.CONTAINERIZED
    """Strategy of the pooled environments: `up` claims one only when it asks for this strategy."""
    ttl: PositiveDuration = timedelta(hours=24)
    """An unclaimed environment older than this is collected by gc (and replaced), so pooled data never
    gets staler than this."""


class DockerRuntimeConfig(_Section):
    compose: Path | None = None
    """Compose file defining an environment's services (with an `x-stagetui` block saying which service
    answers health checks and which volumes get the data and the config). Unset: the sample definition."""
    host: str | None = None
    """Docker Engine address, e.g. unix:///run/docker.sock or tcp://builder:2376. Unset: $DOCKER_HOST, else
    the engine's default socket."""
    pull: Literal["never", "missing"] = "missing"
    """Images not present on the engine: pull them (missing) or fail naming the image (never)."""
    health_timeout: PositiveDuration = timedelta(seconds=60)
    """How long an environment's services may take to start and pass their healthchecks."""
    stop_timeout: PositiveDuration = timedelta(seconds=2)
    """Grace period of a container on teardown before it is killed (a service's stop_grace_period wins)."""
    api_timeout: PositiveDuration = timedelta(seconds=30)
    """Timeout of one call to the engine's API."""
    share_data: bool = True
    """Environments whose data is the same golden snapshot mount one read-only seed volume, filled once,
    instead of a copy each (the compose file's other volumes stay per environment). gc removes seed
    volumes no container uses."""
    warm_pool: WarmPoolConfig = WarmPoolConfig()
    """Pre-warmed environments: `up` claims one in well under a second and the pool refills behind it."""


class RuntimesConfig(_Section):
    local: LocalRuntimeConfig = LocalRuntimeConfig()
    """Processes on this machine (the embedded default)."""
    docker: DockerRuntimeConfig = DockerRuntimeConfig()
    """Containers on a Docker Engine, defined by a compose file."""
    swarm: SwarmRuntimeConfig = SwarmRuntimeConfig()
    """Services on a Docker Swarm cluster, defined by a compose file, placed across its nodes."""
    aws: AwsRuntimeConfig = AwsRuntimeConfig()
    """Snapshot environments on AWS: RDS, EBS, S3 and SSM, restored from snapshot sets."""

    def health_timeout(self, runtime: str) -> timedelta:
        """How long `runtime`'s services may take to become healthy (aws: the local runtime's)."""
        if runtime == "docker":
            return self.docker.health_timeout
        if runtime == "swarm":
            return self.swarm.health_timeout
        return self.local.health_timeout


class SeverityRuleConfig(_Section):
    pattern: str
    """Glob over dotted config keys, e.g. `feature_flags.*`."""
    severity: Severity
    """info, minor, major or critical."""


class ApprovalConfig(_Section):
    pattern: str
    """Glob over dotted config keys this approved difference covers."""
    reason: str = Field(min_length=1)
    """Why the difference is acceptable."""
    approver: str = Field(min_length=1)
    """Who approved it."""
    created: date | None = None
    """When it was approved."""
    expires: date | None = None
    """Last day the approval holds; after it the difference counts as drift again."""


SourceType = Literal["files", "feature_flags", "ssm", "rendered", "live_variables"]
ENVIRONMENT_ONLY = ("rendered", "live_variables")


class SourceConfig(_Section):
    type: SourceType
    """files (a directory, one namespace per file, or one file), feature_flags (a flag file), ssm (AWS SSM
    Parameter Store by path), rendered (the environment's rendered config), live_variables (the variables its
    services run with)."""
    path: str | None = None
    """files, feature_flags: a file or directory (relative to this file); ssm: a parameter path such as
    /prod/shop/ — in environment sources `{env_id}` is replaced by the environment's id."""
    namespace: str | None = None
    """Namespace the source fills (default: by file name for files, feature_flags, ssm, env)."""
    region: str | None = None
    """ssm: AWS region (default: $AWS_DEFAULT_REGION)."""
    endpoint_url: str | None = None
    """ssm: a different endpoint (default: $AWS_ENDPOINT_URL or AWS itself)."""

    @model_validator(mode="after")
    def _needs_path(self) -> SourceConfig:
        if self.type in {"files", "feature_flags", "ssm"} and not self.path:
            raise ValueError(f"a {self.type} source needs a path")
        if self.type == "ssm" and self.path and not self.path.startswith("/"):
            raise ValueError("an ssm path starts with / (e.g. /prod/shop/)")
        return self


class DriftThresholdConfig(_Section):
    max_unapproved: int = Field(default=0, ge=0)
    """Unapproved differences allowed before an environment fails its drift check."""
    max_approved: int | None = Field(default=None, ge=0)
    """Approved differences allowed; unset = any number."""
    max_approved_severity: Severity | None = None
    """An approved difference more severe than this fails the check too; unset = any severity."""


class DriftConfig(_Section):
    default_severity: Severity = Severity.MINOR
    """Severity of a difference no rule matches."""
    severity: list[SeverityRuleConfig] = Field(default_factory=list)
    """Rules giving a severity by key pattern; the first match wins."""
    secret_patterns: list[str] = Field(default_factory=list)
    """Extra key patterns treated as secrets (never shown, stored or exported: only a keyed-hash prefix)."""
    compare_secret_values: bool = False
    """Report a secret whose value differs from production (as hashes). Off: environments carry their own
    secrets by design, so only a missing or extra secret is drift."""
    approved: list[ApprovalConfig] = Field(default_factory=list)
    """Approved differences (the allowlist); more can be added with `stagetui drift approve`."""
    threshold: DriftThresholdConfig = DriftThresholdConfig()
    """When an environment's drift fails its check (exit 1 of `stagetui drift`)."""
    production_sources: list[SourceConfig] = Field(default_factory=list)
    """What production's configuration is. Empty: the files of production.config."""
    environment_sources: list[SourceConfig] = Field(default_factory=list)
    """What each environment's configuration is. Empty: its rendered config."""

    @field_validator("production_sources")
    @classmethod
    def _production_sources(cls, value: list[SourceConfig]) -> list[SourceConfig]:
        misplaced = [source.type for source in value if source.type in ENVIRONMENT_ONLY]
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)} describe an environment, not production")
        return value


class BudgetsConfig(_Section):
    daily: float | None = Field(default=None, gt=0)
    """Limit for one calendar day (UTC) of all environments' cost; unset = no daily budget."""
    monthly: float | None = Field(default=None, gt=0)
    """Limit for one calendar month (UTC); unset = no monthly budget."""
    warn_at: float = Field(default=0.8, gt=0, le=1)
    """Share of a budget at which a warning is raised before it is exceeded."""


class CostConfig(_Section):
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    """ISO currency code the prices are in."""
    hourly: dict[str, dict[Strategy, float]] = Field(
        default_factory=lambda: {
            "local": {Strategy.FULL_CLONE: 0.60, Strategy.SNAPSHOT: 0.25, Strategy.CONTAINERIZED: 0.04},
            "docker": {Strategy.FULL_CLONE: 0.45, Strategy.SNAPSHOT: 0.18, Strategy.CONTAINERIZED: 0.03},
            "swarm": {Strategy.FULL_CLONE: 0.45, Strategy.SNAPSHOT: 0.18, Strategy.CONTAINERIZED: 0.03},
        }
    )
    """Compute price per environment-hour, by runtime and then strategy."""
    storage_gb_month: float = Field(default=0.10, ge=0)
    """Storage price per GB of environment data per month."""
    budgets: BudgetsConfig = BudgetsConfig()
    """Spending limits across all environments, with alerts."""

    @field_validator("hourly")
    @classmethod
    def _no_negative_prices(cls, value: dict[str, dict[Strategy, float]]) -> dict[str, dict[Strategy, float]]:
        negative = [
            f"{runtime}.{s.value}" for runtime, prices in value.items() for s, p in prices.items() if p < 0
        ]
        if negative:
            raise ValueError(f"prices cannot be negative: {', '.join(negative)}")
        return value


class UiConfig(_Section):
    theme: str = "stagetui-dark"
    """Theme of the terminal UI: stagetui-dark, stagetui-light, or a Textual built-in (e.g. nord)."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Key overrides by binding id, e.g. `launch: ctrl+n` (`stagetui keys` lists the ids)."""
    refresh_interval: PositiveDuration = timedelta(seconds=10)
    """How often the UI reconciles with the runtimes besides reacting to events."""

    @field_validator("keymap")
    @classmethod
    def _known_binding_ids(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - BINDING_IDS)
        if unknown:
            raise ValueError(
                f"unknown binding id(s) {', '.join(unknown)}; known: {', '.join(sorted(BINDING_IDS))}"
            )
        empty = [binding for binding, keys in value.items() if not keys.strip()]
        if empty:
            raise ValueError(f"no key given for {', '.join(empty)}")
        return value


METRICS = (
    "provision.total_seconds",
    "provision.step_seconds",
    "data.age_seconds",
    "drift.unapproved",
    "integrity.orphans",
    "cost.per_day",
    "tests.pass_rate",
)
Metric = Literal[
    "provision.total_seconds",
    "provision.step_seconds",
    "data.age_seconds",
    "drift.unapproved",
    "integrity.orphans",
    "cost.per_day",
    "tests.pass_rate",
]


class ScopeConfig(_Section):
    strategy: Strategy | None = None
    """Only environments of this strategy; unset = any."""
    runtime: str | None = None
    """Only environments on this runtime; unset = any."""
    branch: str | None = None
    """Only branches matching this glob (e.g. `release/*`); unset = any."""


class BenchmarkConfig(_Section):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Short name, used on the command line (`stagetui bench baseline NAME`)."""
    description: str = ""
    """What it means, in words."""
    metric: Metric
    """provision.total_seconds, provision.step_seconds (with `step`), data.age_seconds, drift.unapproved,
    integrity.orphans, cost.per_day or tests.pass_rate."""
    step: str | None = None
    """For provision.step_seconds: which step."""
    aggregation: Aggregation = Aggregation.MEDIAN
    """median, p90, p95, max, mean, or share_under (the share of samples at or under `limit`)."""
    limit: float | None = None
    """For share_under: the threshold in the metric's unit (e.g. 300 seconds)."""
    target: float
    """The value to reach."""
    direction: Direction = Direction.LOWER_IS_BETTER
    """lower or higher: which way is better."""
    scope: ScopeConfig = ScopeConfig()
    """Which environments count."""
    baseline: float | None = None
    """The value before improvement work began (`stagetui bench baseline NAME --save` records one)."""

    @model_validator(mode="after")
    def _consistent(self) -> BenchmarkConfig:
        self.to_benchmark()  # the domain's own checks, reported against this entry
        return self

    def to_benchmark(self) -> Benchmark:
        scope = Scope(self.scope.strategy, self.scope.runtime, self.scope.branch)
        return Benchmark(
            self.name,
            self.metric,
            self.aggregation,
            self.target,
            self.direction,
            scope,
            self.step,
            self.limit,
            self.baseline,
            self.description,
        )


class CycleConfig(_Section):
    current_window: PositiveDuration = timedelta(days=7)
    """A benchmark's current value is taken over this recent window."""
    baseline_window: PositiveDuration = timedelta(days=14)
    """Baselines (of benchmarks, before experiments) are taken over this window."""
    min_samples: int = Field(default=20, ge=1)
    """Fewer samples than this in a baseline window raises a warning."""
    peak_hours: tuple[int, int] = (9, 18)
    """Working hours [start, end) (local time) a baseline should include samples from."""
    utc_offset_hours: int = Field(default=0, ge=-12, le=14)
    """The team's offset from UTC, for peak hours."""

    @field_validator("peak_hours")
    @classmethod
    def _hours(cls, value: tuple[int, int]) -> tuple[int, int]:
        start, end = value
        if not 0 <= start < end <= 24:
            raise ValueError("peak_hours must be [start, end) with 0 <= start < end <= 24")
        return value


class PolicyConfig(_Section):
    unit: Strategy = Strategy.CONTAINERIZED
    """Strategy for `up --tier unit`."""
    integration: Strategy = Strategy.CONTAINERIZED
    """Strategy for `up --tier integration`."""
    feature: Strategy = Strategy.SNAPSHOT
    """Strategy for `up --tier feature`."""
    pre_release: Strategy = Strategy.FULL_CLONE
    """Strategy for `up --tier pre_release`."""


class StagetuiConfig(_Section):
    version: Literal[1] = 1
    """Version of this file's format."""
    state_dir: Path | None = None
    """Where the store, environments and snapshots live. Unset: $STAGETUI_STATE_DIR, else the XDG state
    directory (~/.local/state/stagetui)."""
    owner: str | None = None
    """Owner recorded on environments. Unset: the login name."""
    defaults: DefaultsConfig = DefaultsConfig()
    """Defaults for `up`."""
    orchestrator: OrchestratorConfig = OrchestratorConfig()
    """How plans run."""
    production: ProductionConfig = ProductionConfig()
    """What production is."""
    sample: SampleConfig = SampleConfig()
    """The generated sample production used when production.database is unset."""
    data: DataConfig = DataConfig()
    """Freshness, incremental refreshes, integrity threshold and where environments' databases live."""
    anonymization: AnonymizationConfig = AnonymizationConfig()
    """Masking of personal data on its way out of production."""
    strategies: StrategiesConfig = StrategiesConfig()
    """Settings per strategy."""
    runtimes: RuntimesConfig = RuntimesConfig()
    """Settings per runtime."""
    drift: DriftConfig = DriftConfig()
    """Configuration drift against production."""
    policy: PolicyConfig = PolicyConfig()
    """Hybrid policy: test tier to strategy."""
    cost: CostConfig = CostConfig()
    """Price list for cost estimates."""
    benchmarks: list[BenchmarkConfig] = Field(default_factory=list)
    """Benchmarks with targets (more can be added from the UI; those live in the store)."""
    cycle: CycleConfig = CycleConfig()
    """Windows and thresholds of the improvement cycle (benchmarks, baselines, experiments)."""

    @field_validator("benchmarks")
    @classmethod
    def _unique_benchmarks(cls, value: list[BenchmarkConfig]) -> list[BenchmarkConfig]:
        names = [b.name for b in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"benchmark names must be unique: {', '.join(duplicates)}")
        return value

    ui: UiConfig = UiConfig()
    """The terminal UI."""

    @model_validator(mode="after")
    def _dump_needs_a_server(self) -> StagetuiConfig:
        if self.production.postgres_dump is not None and self.data.postgres.dsn is None:
            raise ValueError("production.postgres_dump needs data.postgres.dsn: the server to restore it on")
        return self

    @field_validator("owner")
    @classmethod
    def _owner_is_a_name(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_owner(value):
            raise ValueError("owner must be 1-64 letters, digits, '.', '@', '_' or '-'")
        return value
