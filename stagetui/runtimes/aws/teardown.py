"""Tearing an environment down: every resource it owns on AWS, found where each kind lives (see
stagetui.runtimes.aws.inventory), removed in an order AWS accepts, and again without harm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from stagetui.runtimes.aws.errors import AwsAccessError, aws_errors
from stagetui.runtimes.aws.inventory import (
    env_objects,
    error_code,
    owned_resources,
    seed_prefix,
    split_s3_url,
)
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.base import RuntimeOperationError

_SSM_BATCH = 10  # DeleteParameters takes at most 10 names
_S3_BATCH = 1000  # DeleteObjects takes at most 1000 keys


@dataclass
class _Teardown:
    """Removes what it can and remembers what it could not: one stuck resource must not keep the rest."""

    environment_id: str
    removed: list[str] = field(default_factory=list)
    failures: list[RuntimeOperationError] = field(default_factory=list)

    def remove(self, what: str, gone: set[str], call: Callable[[], object]) -> None:
        """Run `call`, the deletion of `what`; an error code in `gone` means it was removed already."""
        from botocore.exceptions import ClientError

        try:
            with aws_errors(f"environment {self.environment_id}: deleting {what}"):
                try:
                    call()
                except ClientError as error:
                    if error_code(error) in gone:
                        return
                    raise
        except RuntimeOperationError as error:
            self.failures.append(error)
            return
        self.removed.append(what)

    def outcome(self) -> list[str]:
        if not self.failures:
            return self.removed
        denied = any(isinstance(error, AwsAccessError) for error in self.failures)
        done = f"; removed {len(self.removed)}: {', '.join(self.removed)}" if self.removed else ""
        raise (AwsAccessError if denied else RuntimeOperationError)(
            f"environment {self.environment_id}: {len(self.failures)} removal(s) failed: "
            + "; ".join(str(error) for error in self.failures)
            + done
        )


def delete_environment(clients: AwsClients, environment_id: str, seed_bucket: str | None) -> list[str]:
    """Remove every resource of the environment; returns what was removed. What is gone already (or being
    deleted) is skipped, so running it again is fine. Deletions are started, not waited for: an RDS instance
    stays "deleting" for minutes. Raises, after trying everything, when something could not be removed."""
    env = environment_id
    settings = clients.settings.environment
    teardown = _Teardown(env)
    owned = owned_resources(clients, env)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    final: dict[str, Any] = {"SkipFinalSnapshot": not settings.final_snapshot}
    if settings.final_snapshot:
        final["FinalDBSnapshotIdentifier"] = f"stagetui-{env}-final-{stamp}"

    live = {name: d for name, d in owned.instances.items() if d.get("DBInstanceStatus") != "deleting"}
    standalone = [name for name, d in live.items() if not d.get("DBClusterIdentifier")]
    members = [name for name, d in live.items() if d.get("DBClusterIdentifier")]
    for name in standalone:
        call = partial(
            clients.rds.delete_db_instance, DBInstanceIdentifier=name, DeleteAutomatedBackups=True, **final
        )
        teardown.remove(f"rds instance {name}", {"DBInstanceNotFound"}, call)
    # A cluster's instances before the cluster, which refuses to go while one is not deleting; their data
    # is the cluster's, so the final snapshot (if any) is the cluster's too.
    for name in members:
        call = partial(clients.rds.delete_db_instance, DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        teardown.remove(f"rds instance {name}", {"DBInstanceNotFound"}, call)
    for name, description in owned.clusters.items():
        if description.get("Status") != "deleting":
            call = partial(
                clients.rds.delete_db_cluster, DBClusterIdentifier=name, DeleteAutomatedBackups=True, **final
            )
            teardown.remove(f"rds cluster {name}", {"DBClusterNotFoundFault"}, call)
    for volume in owned.volumes:
        call = partial(clients.ec2.delete_volume, VolumeId=volume)
        teardown.remove(f"ebs volume {volume}", {"InvalidVolume.NotFound"}, call)
    for start in range(0, len(owned.parameters), _SSM_BATCH):
        batch = owned.parameters[start : start + _SSM_BATCH]
        try:
            with aws_errors(f"environment {env}: deleting SSM parameters {', '.join(batch)}"):
                answer = clients.ssm.delete_parameters(Names=batch)
        except RuntimeOperationError as error:
            teardown.failures.append(error)
            continue
        # Names already gone come back as InvalidParameters, not as an error.
        teardown.removed.extend(f"ssm parameter {name}" for name in answer.get("DeletedParameters", []))
    if seed_bucket:
        target = seed_prefix(clients.settings, seed_bucket, env)
        try:
            count = _delete_prefix(clients, env, target)
        except RuntimeOperationError as error:
            teardown.failures.append(error)
        else:
            if count:
                teardown.removed.append(f"s3 {target} ({count} objects)")
    return teardown.outcome()


def _delete_prefix(clients: AwsClients, env: str, url: str) -> int:
    """Delete every object under `url`; returns how many there were."""
    bucket, prefix = split_s3_url(url)
    keys = [obj["Key"] for obj in env_objects(clients, bucket, prefix, f"environment {env}: listing {url}")]
    for start in range(0, len(keys), _S3_BATCH):
        batch = keys[start : start + _S3_BATCH]
        with aws_errors(f"environment {env}: deleting {len(batch)} objects under {url}"):
            answer = clients.s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeOperationError(
                f"environment {env}: {len(errors)} object(s) under {url} not deleted "
                f"(s3://{bucket}/{first.get('Key')}: {first.get('Code')}: {first.get('Message')})"
            )
    return len(keys)
