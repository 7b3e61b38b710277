"""One environment's AWS resources: its database restored from a snapshot set's RDS snapshot, EBS volumes
made from the set's EBS snapshots, a copy of the set's S3 seed files and its configuration in SSM Parameter
Store, each tagged with the environment's labels as it is made (a failed step leaves only tagged resources,
which teardown finds).

This module makes them; finding and relabelling them is in stagetui.runtimes.aws.inventory, removing them in
stagetui.runtimes.aws.teardown. Both are re-exported here, so the runtime needs one import.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from stagetui.runtimes.aws.errors import aws_errors
from stagetui.runtimes.aws.inventory import (
    AwsEnvironment,
    aws_tags,
    cluster_instance_identifier,
    config_path,
    database_identifier,
    database_status,
    default_seed_bucket,
    error_code,
    find_environments,
    relabel,
    s3_tagging,
    seed_prefix,
    split_s3_url,
)
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.tags import tag_list
from stagetui.runtimes.aws.teardown import delete_environment
from stagetui.runtimes.base import Progress, RuntimeOperationError

__all__ = [
    "AwsEnvironment",
    "cluster_instance_identifier",
    "config_path",
    "copy_prefix",
    "create_volumes",
    "database_identifier",
    "database_status",
    "default_seed_bucket",
    "delete_environment",
    "find_environments",
    "relabel",
    "restore_cluster",
    "restore_instance",
    "seed_prefix",
    "write_config",
]

COPY_OBJECT_LIMIT = 5 * 1024**3
"""CopyObject copies at most 5 GiB; bigger objects go through boto3's managed (multipart) copy."""


def _quiet(fraction: float, message: str) -> None:
    pass


def _wait(clients: AwsClients, waiter: str, doing: str, **arguments: Any) -> None:
    service = clients.ec2 if waiter.startswith("volume") else clients.rds
    with aws_errors(doing):
        service.get_waiter(waiter).wait(**arguments, WaiterConfig=clients.waiter_config())


def restore_instance(
    clients: AwsClients,
    snapshot_id: str,
    environment_id: str,
    tags: Mapping[str, str],
    progress: Progress | None = None,
) -> str:
    """The environment's RDS instance restored from DB snapshot `snapshot_id` (at the configured, smaller,
    instance class); waits until it is available and returns its endpoint "address:port"."""
    report = progress or _quiet
    identifier = database_identifier(environment_id)
    what = f"environment {environment_id}: RDS instance {identifier}"
    report(0.0, f"restoring {identifier} from {snapshot_id}")
    with aws_errors(f"{what}: restoring from snapshot {snapshot_id}"):
        clients.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier=identifier,
            DBSnapshotIdentifier=snapshot_id,
            DBInstanceClass=clients.settings.environment.instance_class,
            Tags=tag_list(aws_tags(tags)),
            # Snapshots of an environment must not carry its tag: teardown would find (and delete) them.
            CopyTagsToSnapshot=False,
        )
    report(0.1, f"waiting for {identifier} to be available")
    _wait(
        clients, "db_instance_available", f"{what}: waiting until available", DBInstanceIdentifier=identifier
    )
    return _endpoint(clients, environment_id, what, identifier, report)


def _endpoint(clients: AwsClients, environment_id: str, what: str, name: str, report: Progress) -> str:
    """The endpoint of the environment's database, once available."""
    status = database_status(clients, environment_id)
    if status is None or status[1] is None:
        raise RuntimeOperationError(f"{what}: available but without an endpoint")
    report(1.0, f"{name} is available at {status[1]}")
    return status[1]


def restore_cluster(
    clients: AwsClients,
    snapshot_id: str,
    engine: str,
    environment_id: str,
    tags: Mapping[str, str],
    progress: Progress | None = None,
) -> str:
    """The environment's Aurora cluster restored from cluster snapshot `snapshot_id`, with one instance of
    the configured class in it (a restored cluster has none); returns the cluster's endpoint."""
    report = progress or _quiet
    cluster = database_identifier(environment_id)
    instance = cluster_instance_identifier(environment_id)
    what = f"environment {environment_id}: RDS cluster {cluster}"
    aws = tag_list(aws_tags(tags))
    report(0.0, f"restoring cluster {cluster} from {snapshot_id}")
    with aws_errors(f"{what}: restoring from cluster snapshot {snapshot_id}"):
        clients.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=cluster,
            SnapshotIdentifier=snapshot_id,
            Engine=engine,
            Tags=aws,
            CopyTagsToSnapshot=False,
        )
    report(0.05, f"adding instance {instance} to {cluster}")
    with aws_errors(f"{what}: creating its instance {instance}"):
        clients.rds.create_db_instance(
            DBInstanceIdentifier=instance,
            DBClusterIdentifier=cluster,
            Engine=engine,
            DBInstanceClass=clients.settings.environment.instance_class,
            Tags=aws,
        )
    report(0.1, f"waiting for {cluster} to be available")
    _wait(clients, "db_cluster_available", f"{what}: waiting until available", DBClusterIdentifier=cluster)
    report(0.5, f"waiting for {instance} to be available")
    _wait(
        clients,
        "db_instance_available",
        f"{what}: waiting until its instance {instance} is available",
        DBInstanceIdentifier=instance,
    )
    return _endpoint(clients, environment_id, what, cluster, report)


def create_volumes(
    clients: AwsClients,
    snapshots: Sequence[tuple[str, str | None, float]],
    environment_id: str,
    tags: Mapping[str, str],
    progress: Progress | None = None,
) -> list[str]:
    """One gp3 EBS volume per (snapshot id, zone of its production volume, size in GiB), in the configured
    zone or else that zone; waits until all are available and returns their ids in the same order."""
    report = progress or _quiet
    zone_setting = clients.settings.environment.availability_zone
    volumes: list[str] = []
    for index, (snapshot, source_zone, size_gb) in enumerate(snapshots):
        zone = zone_setting or source_zone
        what = f"environment {environment_id}: EBS volume from snapshot {snapshot}"
        if not zone:
            raise RuntimeOperationError(
                f"{what}: no availability zone (set runtimes.aws.environment.availability_zone)"
            )
        report(0.5 * index / len(snapshots), f"creating a {size_gb:g} GiB volume from {snapshot} in {zone}")
        with aws_errors(f"{what}: creating in {zone}"):
            answer = clients.ec2.create_volume(
                SnapshotId=snapshot,
                AvailabilityZone=zone,
                # gp3: what the price table assumes, and cheaper than gp2 for the same size.
                VolumeType="gp3",
                TagSpecifications=[{"ResourceType": "volume", "Tags": tag_list(aws_tags(tags))}],
            )
        volumes.append(str(answer["VolumeId"]))
    if volumes:
        report(0.5, f"waiting for {len(volumes)} volume(s) to be available")
        doing = f"environment {environment_id}: waiting until EBS volumes {', '.join(volumes)} are available"
        _wait(clients, "volume_available", doing, VolumeIds=volumes)
    report(1.0, f"{len(volumes)} volume(s) available")
    return volumes


def copy_prefix(
    clients: AwsClients,
    source_url: str,
    target_url: str,
    tags: Mapping[str, str],
    progress: Progress | None = None,
) -> int:
    """Copy every object under `source_url` (s3://bucket/prefix/) to the same relative key under
    `target_url`, each copy tagged with `tags` (not the source's tags); returns the bytes copied."""
    report = progress or _quiet
    source_bucket, source_prefix = split_s3_url(source_url)
    target_bucket, target_prefix = split_s3_url(target_url)
    tagging = s3_tagging(tags)
    # Listed first, so progress can count bytes against the total.
    with aws_errors(f"listing {source_url} to copy it to {target_url}"):
        pages = clients.s3.get_paginator("list_objects_v2").paginate(
            Bucket=source_bucket, Prefix=source_prefix
        )
        objects = [(str(o["Key"]), int(o.get("Size", 0))) for page in pages for o in page.get("Contents", [])]
    total = sum(size for _, size in objects) or 1
    copied = 0
    for key, size in objects:
        target_key = target_prefix + key[len(source_prefix) :]
        source = {"Bucket": source_bucket, "Key": key}
        report(copied / total, f"copying {key} ({size} bytes)")
        with aws_errors(f"copying s3://{source_bucket}/{key} to s3://{target_bucket}/{target_key}"):
            if size <= COPY_OBJECT_LIMIT:
                clients.s3.copy_object(
                    Bucket=target_bucket,
                    Key=target_key,
                    CopySource=source,
                    TaggingDirective="REPLACE",
                    Tagging=tagging,
                )
            else:
                clients.s3.copy(
                    source,
                    target_bucket,
                    target_key,
                    ExtraArgs={"TaggingDirective": "REPLACE", "Tagging": tagging},
                )
        copied += size
    report(1.0, f"copied {len(objects)} object(s), {copied} bytes")
    return copied


def parameter_name(path: str, key: str) -> str:
    """A config key's SSM parameter: dots become path levels ("db.host" -> "{path}db/host")."""
    return path + key.replace(".", "/")


def write_config(
    clients: AwsClients,
    path: str,
    values: Mapping[str, str],
    secure: Collection[str],
    tags: Mapping[str, str],
    lists: Collection[str] = (),
) -> int:
    """Write each value to its parameter under `path` (a SecureString for keys in `secure`, a StringList for
    keys in `lists`, so they read back as production's do), replacing what
    is there; returns how many were written. New parameters get `tags` as they are made (PutParameter takes
    no tags when it overwrites, so a replaced parameter is tagged after)."""
    from botocore.exceptions import ClientError

    empty = sorted(key for key, value in values.items() if value == "")
    if empty:
        # Checked before anything is written: SSM refuses an empty value, and half a config is worse.
        raise RuntimeOperationError(
            f"SSM Parameter Store cannot hold an empty value: {', '.join(empty)} under {path}"
        )
    aws = tag_list(aws_tags(tags))
    for key, value in values.items():
        name = parameter_name(path, key)
        kind = "SecureString" if key in secure else ("StringList" if key in lists else "String")
        with aws_errors(f"writing SSM parameter {name} ({kind})"):
            try:
                clients.ssm.put_parameter(Name=name, Value=value, Type=kind, Tags=aws)
            except ClientError as error:
                if error_code(error) != "ParameterAlreadyExists":
                    raise
                clients.ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)
                clients.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=aws)
    return len(values)
