"""Taking a snapshot set: start every snapshot at once (one as-of time), copy the S3 seed meanwhile, wait
for all of them, and only then mark the set complete. A take that fails half way removes what it made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stagetui.runtimes.aws.errors import aws_errors
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.snapshot_model import (
    PARTS_TAG,
    ZONE_TAG,
    PartKind,
    S3Location,
    SnapshotPart,
    SnapshotSet,
    copy_location,
    delete_keys,
    manifest_json,
    manifest_key,
    new_set_id,
    ordered,
    own_prefixes,
    rds_snapshot_id,
    seed_location,
    utc,
)
from stagetui.runtimes.aws.tags import COMPLETE_TAG, SET_TAG, TAKEN_TAG, tag_list
from stagetui.runtimes.base import Progress, RuntimeOperationError

# copy_object copies at most 5 GiB in one request; bigger objects need the managed multipart copy.
_SINGLE_COPY_LIMIT = 5 * 1024**3
_COMPLETE = [{"Key": COMPLETE_TAG, "Value": "true"}]
_NOT_FOUND = {"DBSnapshotNotFound", "DBClusterSnapshotNotFoundFault", "InvalidSnapshot.NotFound"}


@dataclass
class _Made:
    """What this take has created so far, for the rollback."""

    rds_snapshots: list[str] = field(default_factory=list)
    rds_cluster_snapshots: list[str] = field(default_factory=list)
    ebs_snapshots: list[str] = field(default_factory=list)
    s3_bucket: str = ""
    s3_keys: list[str] = field(default_factory=list)


def take_snapshot_set(clients: AwsClients, now: datetime, progress: Progress | None = None) -> SnapshotSet:
    """Snapshot every production resource of `runtimes.aws.production` as of `now` into a new set."""
    production = clients.settings.production
    seed = seed_location(clients.settings)
    database = production.rds_instance or production.rds_cluster
    if not (database or production.ebs_volumes or seed):
        raise RuntimeOperationError(
            "nothing to snapshot: set runtimes.aws.production (rds_instance or rds_cluster, ebs_volumes, "
            "s3_seed)"
        )
    report: Progress = progress or (lambda _fraction, _message: None)
    taken_at = utc(now)
    set_id = new_set_id(taken_at)
    tags = {
        SET_TAG: set_id,
        TAKEN_TAG: taken_at.isoformat(),
        PARTS_TAG: str((1 if database else 0) + len(production.ebs_volumes) + (1 if seed else 0)),
    }
    made = _Made()
    try:
        return _take(clients, set_id, taken_at, tags, seed, made, report)
    except BaseException as error:  # Ctrl-C half way too: no half set may linger
        left = _roll_back(clients, made)
        if left and isinstance(error, RuntimeOperationError):
            raise type(error)(f"{error}; rollback left behind {', '.join(left)}") from None
        raise


def _take(
    clients: AwsClients,
    set_id: str,
    taken_at: datetime,
    tags: dict[str, str],
    seed: S3Location | None,
    made: _Made,
    report: Progress,
) -> SnapshotSet:
    production = clients.settings.production
    report(0.0, f"taking snapshot set {set_id}")
    parts: list[SnapshotPart] = []
    rds_arns: list[str] = []
    if production.rds_instance:
        name = rds_snapshot_id(set_id)
        with (
            aws_errors(f"snapshot of RDS instance {production.rds_instance}"),
            _recorded(made.rds_snapshots, name),
        ):
            answer = clients.rds.create_db_snapshot(
                DBSnapshotIdentifier=name,
                DBInstanceIdentifier=production.rds_instance,
                Tags=tag_list({"Name": f"stagetui {set_id}"} | tags),
            )["DBSnapshot"]
        rds_arns.append(answer["DBSnapshotArn"])
        parts.append(_rds_part("rds-instance", production.rds_instance, name, answer))
    if production.rds_cluster:
        name = rds_snapshot_id(set_id, cluster=True)
        with (
            aws_errors(f"snapshot of Aurora cluster {production.rds_cluster}"),
            _recorded(made.rds_cluster_snapshots, name),
        ):
            answer = clients.rds.create_db_cluster_snapshot(
                DBClusterSnapshotIdentifier=name,
                DBClusterIdentifier=production.rds_cluster,
                Tags=tag_list({"Name": f"stagetui {set_id}"} | tags),
            )["DBClusterSnapshot"]
        rds_arns.append(answer["DBClusterSnapshotArn"])
        parts.append(_rds_part("rds-cluster", production.rds_cluster, name, answer))
    for volume_id in production.ebs_volumes:
        with aws_errors(f"snapshot of EBS volume {volume_id}"):
            zone = clients.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["AvailabilityZone"]
            snapshot = clients.ec2.create_snapshot(
                VolumeId=volume_id,
                Description=f"stagetui snapshot set {set_id}",
                TagSpecifications=[
                    {
                        "ResourceType": "snapshot",
                        "Tags": tag_list(
                            {"Name": f"stagetui {set_id} {volume_id}"} | tags | {ZONE_TAG: zone}
                        ),
                    }
                ],
            )
        made.ebs_snapshots.append(snapshot["SnapshotId"])
        parts.append(
            SnapshotPart("ebs", volume_id, snapshot["SnapshotId"], float(snapshot["VolumeSize"]), zone)
        )
    report(0.1, f"started {len(parts)} snapshot(s)")
    if seed:
        parts.append(_copy_seed(clients, seed, set_id, made, report))

    waits = [part for part in parts if part.kind != "s3"]
    for index, part in enumerate(waits):
        report(0.5 + 0.45 * index / len(waits), f"waiting for {_describe(part)}")
        _wait(clients, part)

    # Every part is there: only now does the set become complete (tags first, the manifest last).
    for arn in rds_arns:
        with aws_errors(f"marking RDS snapshot {arn.rsplit(':', 1)[1]} complete"):
            clients.rds.add_tags_to_resource(ResourceName=arn, Tags=_COMPLETE)
    if made.ebs_snapshots:
        with aws_errors(f"marking EBS snapshots {', '.join(made.ebs_snapshots)} complete"):
            clients.ec2.create_tags(Resources=made.ebs_snapshots, Tags=_COMPLETE)
    snapshot_set = SnapshotSet(set_id, taken_at, ordered(parts), complete=True)
    if seed:
        copy = copy_location(seed.bucket, clients.settings, set_id)
        with aws_errors(f"writing the manifest of snapshot set {set_id}"):
            made.s3_keys.append(manifest_key(copy))
            clients.s3.put_object(
                Bucket=seed.bucket,
                Key=manifest_key(copy),
                Body=manifest_json(snapshot_set),
                ContentType="application/json",
            )
    report(1.0, f"snapshot set {set_id} complete ({snapshot_set.size_gb:.1f} GB)")
    return snapshot_set


@contextmanager
def _recorded(names: list[str], name: str) -> Iterator[None]:
    """Record `name` for the rollback before creating it: a create whose answer was lost (a read timeout)
    may still have made it. An error answer from AWS made nothing, so there is nothing to delete."""
    from botocore.exceptions import ClientError

    names.append(name)
    try:
        yield
    except ClientError:
        names.remove(name)
        raise


def _rds_part(kind: PartKind, source: str, name: str, answer: dict[str, Any]) -> SnapshotPart:
    return SnapshotPart(
        kind, source, name, float(answer.get("AllocatedStorage", 0)), engine=answer.get("Engine")
    )


def _copy_seed(
    clients: AwsClients, seed: S3Location, set_id: str, made: _Made, report: Progress
) -> SnapshotPart:
    copy = copy_location(seed.bucket, clients.settings, set_id)
    skip = own_prefixes(clients.settings)
    made.s3_bucket = seed.bucket
    with aws_errors(f"copy of S3 seed {seed.url}"):
        objects: list[tuple[str, int]] = []
        pages = clients.s3.get_paginator("list_objects_v2").paginate(Bucket=seed.bucket, Prefix=seed.prefix)
        for page in pages:
            objects += [
                (item["Key"], int(item.get("Size", 0)))
                for item in page.get("Contents", [])
                if not item["Key"].startswith(skip)
            ]
        total = sum(size for _, size in objects)
        copied = 0
        for index, (key, size) in enumerate(objects):
            target = copy.prefix + key[len(seed.prefix) :]
            made.s3_keys.append(target)
            source = {"Bucket": seed.bucket, "Key": key}
            if size > _SINGLE_COPY_LIMIT:
                clients.s3.copy(source, seed.bucket, target)
            else:
                clients.s3.copy_object(Bucket=seed.bucket, Key=target, CopySource=source)
            copied += size
            done = copied / total if total else (index + 1) / len(objects)
            report(0.1 + 0.4 * done, f"copied {index + 1}/{len(objects)} seed objects to {copy.url}")
    return SnapshotPart("s3", seed.url, copy.url, copied / 1e9)


def _describe(part: SnapshotPart) -> str:
    what = {"rds-instance": "RDS snapshot", "rds-cluster": "Aurora cluster snapshot", "ebs": "EBS snapshot"}
    return f"{what[part.kind]} {part.snapshot} of {part.source}"


def _wait(clients: AwsClients, part: SnapshotPart) -> None:
    config = clients.waiter_config()
    with aws_errors(f"waiting for {_describe(part)}"):
        if part.kind == "rds-instance":
            clients.rds.get_waiter("db_snapshot_available").wait(
                DBSnapshotIdentifier=part.snapshot, WaiterConfig=config
            )
        elif part.kind == "rds-cluster":
            clients.rds.get_waiter("db_cluster_snapshot_available").wait(
                DBClusterSnapshotIdentifier=part.snapshot, WaiterConfig=config
            )
        else:
            clients.ec2.get_waiter("snapshot_completed").wait(
                SnapshotIds=[part.snapshot], WaiterConfig=config
            )


def _roll_back(clients: AwsClients, made: _Made) -> list[str]:
    """Best effort: delete everything `made` lists; what could not be deleted (e.g. an RDS snapshot still
    `creating`, which RDS refuses to delete) carries no complete tag, so the next prune removes it."""
    left: list[str] = []
    for name in made.rds_snapshots:
        if not _quietly(clients.rds.delete_db_snapshot, DBSnapshotIdentifier=name):
            left.append(f"rds snapshot {name}")
    for name in made.rds_cluster_snapshots:
        if not _quietly(clients.rds.delete_db_cluster_snapshot, DBClusterSnapshotIdentifier=name):
            left.append(f"rds cluster snapshot {name}")
    for snapshot_id in made.ebs_snapshots:
        if not _quietly(clients.ec2.delete_snapshot, SnapshotId=snapshot_id):
            left.append(f"ebs snapshot {snapshot_id}")
    if made.s3_keys:
        refused: list[str] = []
        if not _quietly(lambda: refused.extend(delete_keys(clients.s3, made.s3_bucket, made.s3_keys))):
            refused = made.s3_keys
        left += [f"s3 s3://{made.s3_bucket}/{key}" for key in refused]
    return left


def _quietly(delete: Callable[..., Any], **params: Any) -> bool:
    """Run one rollback deletion; False if it failed (already gone counts as done)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        delete(**params)
    except ClientError as error:
        return str(error.response.get("Error", {}).get("Code", "")) in _NOT_FOUND
    except BotoCoreError:
        return False
    return True
