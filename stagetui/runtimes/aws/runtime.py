"""The aws runtime: an environment is an RDS database restored from a snapshot set, EBS volumes made from
its snapshots, a copy of its S3 seed files and a configuration path in SSM Parameter Store, every resource
tagged with the environment's labels. AWS is the source of truth: teardown, gc and discovery find the
resources through the tagging API. A workspace directory keeps the rendered config and the labels.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.domain.models import Environment
from stagetui.domain.service_status import ServiceStatus
from stagetui.runtimes.aws import environment as resources
from stagetui.runtimes.aws.cost import CostEstimate, actual_cost, environment_sizes, estimate_per_day
from stagetui.runtimes.aws.errors import aws_errors
from stagetui.runtimes.aws.inventory import aws_tags, owned_resources
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.snapshot_sets import (
    SnapshotSet,
    latest_complete,
    list_snapshot_sets,
    prune_snapshot_sets,
    take_snapshot_set,
)
from stagetui.runtimes.aws.tags import tag_list
from stagetui.runtimes.base import (
    DiscoveredEnvironment,
    EnvironmentExistsError,
    Progress,
    Runtime,
    RuntimeOperationError,
    Workspace,
    environment_labels,
)
from stagetui.runtimes.workspaces import (
    create_workspace_directory,
    workspace_labels,
    workspace_under,
    write_labels,
)
from stagetui.store.lock import StateLock


def seed_bucket(settings: AwsRuntimeConfig) -> str | None:
    seed = settings.production.s3_seed
    return urlsplit(seed).netloc if seed else None


class AwsRuntime(Runtime):
    name = "aws"

    def __init__(self, root: Path, settings: AwsRuntimeConfig, environ: Mapping[str, str]) -> None:
        self.root = root
        self.settings = settings
        self.clients = AwsClients(settings, dict(environ))

    def workspace(self, environment_id: str) -> Workspace:
        return workspace_under(self.root, environment_id)

    def create_workspace(self, env: Environment) -> Workspace:
        existing = owned_resources(self.clients, env.id)
        found = [*existing.instances, *existing.clusters, *existing.volumes, *existing.parameters]
        if found:
            raise EnvironmentExistsError(
                f"{env.id} already has resources on AWS ({', '.join(found[:3])}): tear it down first "
                f"(stagetui down {env.id}, or stagetui gc)"
            )
        return create_workspace_directory(self.workspace(env.id), env)

    # -- snapshot sets -------------------------------------------------------------------------------------

    def snapshot_sets(self) -> list[SnapshotSet]:
        return list_snapshot_sets(self.clients)

    def ensure_snapshot_set(
        self,
        now: datetime,
        refresh_after: timedelta,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> tuple[SnapshotSet, str, bool]:
        """The latest complete set, or a new one (then older sets beyond keep_sets are deleted) when it is
        older than `refresh_after`, missing, or `force`. Returns the set, what happened, and whether it is
        new. A lock keeps two processes on this machine from taking a set at the same time."""
        with StateLock(self.root / ".locks" / "snapshot-set.lock", timeout=3600).hold():
            latest = latest_complete(self.clients)
            if latest is not None and not force and now - latest.taken_at <= refresh_after:
                return latest, f"snapshot set {latest.id} is fresh", False
            taken = take_snapshot_set(self.clients, now, progress)
            why = "forced" if force and latest else ("stale" if latest else "none yet")
            try:
                pruned = prune_snapshot_sets(self.clients, self.settings.keep_sets)
                note = f"; removed {len(pruned)} part(s) of older sets" if pruned else ""
            except RuntimeOperationError as error:
                # The new set is good: an old one that would not go is retried by the next refresh.
                note = f"; older sets not all removed: {error}"
            return taken, f"took snapshot set {taken.id} ({why}){note}", True

    # -- the parts of an environment, one plan step each ----------------------------------------------------

    def restore_database(self, env: Environment, snapshot_set: SnapshotSet, progress: Progress | None) -> str:
        """The set's database restored for `env` (smaller instance class), with a master password of its
        own (a restore keeps the source's, which would be shared by every environment); returns its
        endpoint."""
        tags = environment_labels(env)
        instance = snapshot_set.part("rds-instance")
        cluster = snapshot_set.part("rds-cluster")
        if instance is not None:
            endpoint = resources.restore_instance(self.clients, instance.snapshot, env.id, tags, progress)
        elif cluster is not None:
            engine = cluster.engine or "aurora-postgresql"
            endpoint = resources.restore_cluster(
                self.clients, cluster.snapshot, engine, env.id, tags, progress
            )
        else:
            raise RuntimeOperationError(f"snapshot set {snapshot_set.id} has no database")
        self._own_master_password(env, cluster_database=instance is None)
        return endpoint

    def credentials_path(self, environment_id: str) -> str:
        """Where the environment's master password is kept (outside its config path, so drift against
        production's config does not see it)."""
        return f"{self.settings.environment.ssm_prefix}credentials/{environment_id}/master_password"

    def _own_master_password(self, env: Environment, cluster_database: bool) -> None:
        password = secrets.token_urlsafe(24)
        identifier = resources.database_identifier(env.id)
        with aws_errors(f"giving the database of {env.id} a master password of its own"):
            if cluster_database:
                self.clients.rds.modify_db_cluster(
                    DBClusterIdentifier=identifier, MasterUserPassword=password, ApplyImmediately=True
                )
            else:
                self.clients.rds.modify_db_instance(
                    DBInstanceIdentifier=identifier, MasterUserPassword=password, ApplyImmediately=True
                )
            self.clients.ssm.put_parameter(
                Name=self.credentials_path(env.id),
                Value=password,
                Type="SecureString",
                Tags=tag_list(aws_tags(environment_labels(env))),
            )

    def create_volumes(
        self, env: Environment, snapshot_set: SnapshotSet, progress: Progress | None
    ) -> list[str]:
        parts = [(p.snapshot, p.zone, p.size_gb) for p in snapshot_set.parts_of("ebs")]
        return resources.create_volumes(self.clients, parts, env.id, environment_labels(env), progress)

    def copy_seed(
        self, env: Environment, snapshot_set: SnapshotSet, progress: Progress | None
    ) -> tuple[str, int]:
        """The set's seed files copied to the environment's own prefix; returns it and the bytes copied."""
        part = snapshot_set.part("s3")
        bucket = seed_bucket(self.settings)
        if part is None or bucket is None:
            raise RuntimeOperationError(f"snapshot set {snapshot_set.id} has no seed files")
        target = resources.seed_prefix(self.settings, bucket, env.id)
        copied = resources.copy_prefix(self.clients, part.snapshot, target, environment_labels(env), progress)
        return target, copied

    def write_config(
        self,
        env: Environment,
        values: Mapping[str, str],
        secure: Collection[str],
        lists: Collection[str] = (),
    ) -> tuple[str, int]:
        path = resources.config_path(self.settings, env.id)
        tags = environment_labels(env)
        written = resources.write_config(self.clients, path, values, secure, tags, lists)
        return path, written

    def estimate_cost(self, environment_id: str) -> CostEstimate:
        """Per day, from the price table and what the environment actually holds."""
        sizes = environment_sizes(self.clients, environment_id, seed_bucket(self.settings))
        return estimate_per_day(self.settings.prices, *sizes)

    def actual_cost(self, environment_id: str, start: date, end: date) -> float | None:
        """What Cost Explorer has billed to the environment's tag, when it is reachable."""
        return actual_cost(self.clients, environment_id, start, end)

    # -- the runtime interface -------------------------------------------------------------------------------

    def start_services(
        self, env: Environment, workspace: Workspace, timeout: float, progress: Progress | None = None
    ) -> str:
        """Nothing to start: the database runs once restored. The endpoint is its address (or the config
        path in SSM for an environment without a database)."""
        status = resources.database_status(self.clients, env.id)
        if status is not None and status[1]:
            return f"postgresql://{status[1]}"
        return f"ssm://{resources.config_path(self.settings, env.id)}"

    def wait_healthy(self, env: Environment, endpoint: str, timeout: float) -> str:
        status = resources.database_status(self.clients, env.id)
        if status is None:
            return "no database in this environment; its resources are in place"
        if status[0] != "available":
            raise RuntimeOperationError(f"the database of {env.id} is {status[0]}, not available")
        return f"database available at {status[1]}"

    def relabel(self, env: Environment) -> None:
        resources.relabel(self.clients, env.id, environment_labels(env))
        write_labels(self.workspace(env.id), environment_labels(env))

    def is_running(self, environment_id: str) -> bool:
        try:
            status = resources.database_status(self.clients, environment_id)
        except RuntimeOperationError:
            return False
        return status is None or status[0] == "available"

    def destroy(self, environment_id: str) -> list[str]:
        workspace = self.workspace(environment_id)
        removed = resources.delete_environment(self.clients, environment_id, seed_bucket(self.settings))
        if workspace.root.exists():
            shutil.rmtree(workspace.root)
            removed.append(f"directory {workspace.root}")
        return removed

    def discover(self) -> list[DiscoveredEnvironment]:
        workspaces = workspace_labels(self.root)
        if not workspaces and not self._configured():
            return []  # AWS is not in use here: do not ask it (or wait on its credential chain)
        found = resources.find_environments(self.clients, seed_bucket(self.settings))
        discovered = []
        for environment_id in sorted(set(workspaces) | set(found)):
            remote = found.get(environment_id)
            labels = remote.tags if remote else workspaces.get(environment_id, {})
            listed = list(remote.resources) if remote else []
            if environment_id in workspaces:
                listed.append(f"directory {self.root / environment_id}")
            running = bool(remote and remote.running)
            discovered.append(DiscoveredEnvironment(environment_id, labels, running, tuple(listed)))
        return discovered

    def log_tail(self, environment_id: str, lines: int = 20) -> list[str]:
        """The database's recent RDS events: what AWS did to it (restored, backed up, rebooted)."""
        try:
            with aws_errors(f"events of {environment_id}"):
                answer = self.clients.rds.describe_events(
                    SourceIdentifier=resources.database_identifier(environment_id),
                    SourceType="db-instance",
                    Duration=7 * 24 * 60,
                )
        except RuntimeOperationError:
            return []
        events = answer.get("Events", [])
        return [f"{e['Date']:%Y-%m-%dT%H:%M:%SZ} rds | {e.get('Message', '')}" for e in events][-lines:]

    def service_status(self, environment_id: str) -> list[ServiceStatus]:
        try:
            status = resources.database_status(self.clients, environment_id)
        except RuntimeOperationError:
            return []
        if status is None:
            return []
        state, endpoint = status
        return [
            ServiceStatus(
                "database",
                state,
                "healthy" if state == "available" else None,
                ports=(endpoint,) if endpoint else (),
                image=self.settings.environment.instance_class,
            )
        ]

    def live_environment(self, environment_id: str) -> dict[str, str] | None:
        return None  # no processes of ours: drift reads the environment's SSM path instead

    def _configured(self) -> bool:
        production = self.settings.production
        return bool(
            production.rds_instance
            or production.rds_cluster
            or production.ebs_volumes
            or production.s3_seed
            or production.ssm_path
        )
