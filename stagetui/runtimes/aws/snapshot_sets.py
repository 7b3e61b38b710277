"""Golden snapshot sets on AWS: point-in-time copies of production's RDS database, EBS volumes and S3 seed
files that environments are restored from. This module finds, deletes and prunes sets; taking one is in
snapshot_take, the data model in snapshot_model (both re-exported here: import from this module).

AWS itself is the catalogue: a set's RDS and EBS snapshots carry its id and as-of time as tags (found
through the tagging API), its S3 copy sits beside a JSON manifest. A set is complete only when every part
says so; anything else was cut short and is pruned once a newer complete set exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    delete_keys,
    is_set_id,
    manifest_key,
    new_set_id,
    ordered,
    parse_manifest,
    seed_location,
    set_id_time,
    sets_prefix,
    utc,
)
from stagetui.runtimes.aws.snapshot_take import take_snapshot_set
from stagetui.runtimes.aws.tags import COMPLETE_TAG, ENV_TAG, SET_TAG, TAKEN_TAG, find_tagged
from stagetui.runtimes.base import RuntimeOperationError

__all__ = [
    "SnapshotPart",
    "SnapshotSet",
    "delete_snapshot_set",
    "latest_complete",
    "list_snapshot_sets",
    "new_set_id",
    "prune_snapshot_sets",
    "take_snapshot_set",
]

_NOT_FOUND = {"DBSnapshotNotFound", "DBClusterSnapshotNotFoundFault", "InvalidSnapshot.NotFound"}


@dataclass
class _Found:
    """What listing learnt about one set id from tags, describe calls and S3."""

    parts: list[SnapshotPart] = field(default_factory=list)
    tagged_complete: list[bool] = field(default_factory=list)
    taken: str | None = None
    expected: str | None = None
    manifest: SnapshotSet | None = None


def list_snapshot_sets(clients: AwsClients) -> list[SnapshotSet]:
    """Every set, complete or not, newest first."""
    found: dict[str, _Found] = {}
    with aws_errors("listing snapshot sets"):
        _find_tagged_parts(clients, found)
        _find_s3_parts(clients, found)
    sets = [_assemble(set_id, what) for set_id, what in found.items() if what.parts]
    return sorted(sets, key=lambda snapshot_set: (snapshot_set.taken_at, snapshot_set.id), reverse=True)


def latest_complete(clients: AwsClients) -> SnapshotSet | None:
    return next((snapshot_set for snapshot_set in list_snapshot_sets(clients) if snapshot_set.complete), None)


def delete_snapshot_set(clients: AwsClients, snapshot_set: SnapshotSet) -> list[str]:
    """Delete every part of `snapshot_set`; what was removed (parts already gone are not listed). The
    manifest goes first, so a deletion cut short leaves an incomplete set, never a complete-looking one."""
    removed: list[str] = []
    doing = f"deleting snapshot set {snapshot_set.id}"
    for part in snapshot_set.parts_of("s3"):
        copy = S3Location.parse(part.snapshot)
        with aws_errors(f"{doing}: S3 copy {copy.url}"):
            clients.s3.delete_object(Bucket=copy.bucket, Key=manifest_key(copy))
            keys = [key for key, _ in _objects(clients.s3, copy)]
            refused = delete_keys(clients.s3, copy.bucket, keys)
        if refused:
            raise RuntimeOperationError(f"{doing}: S3 refused to delete {', '.join(refused[:5])}")
        removed.append(f"s3 {copy.url} ({len(keys)} objects)")
    for part in snapshot_set.parts_of("rds-instance"):
        if _delete(
            f"{doing}: RDS snapshot", clients.rds.delete_db_snapshot, DBSnapshotIdentifier=part.snapshot
        ):
            removed.append(f"rds snapshot {part.snapshot}")
    for part in snapshot_set.parts_of("rds-cluster"):
        name = part.snapshot
        if _delete(
            f"{doing}: RDS cluster snapshot",
            clients.rds.delete_db_cluster_snapshot,
            DBClusterSnapshotIdentifier=name,
        ):
            removed.append(f"rds cluster snapshot {part.snapshot}")
    for part in snapshot_set.parts_of("ebs"):
        if _delete(f"{doing}: EBS snapshot", clients.ec2.delete_snapshot, SnapshotId=part.snapshot):
            removed.append(f"ebs snapshot {part.snapshot}")
    return removed


def prune_snapshot_sets(clients: AwsClients, keep: int) -> list[str]:
    """Keep the newest `keep` complete sets; delete older complete sets and every incomplete set older than
    the newest complete one (a newer incomplete set may be a take still running). What was removed.

    A set that cannot be deleted (e.g. an RDS snapshot still `creating`) does not stop the others; the
    error raised at the end names every failure."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    sets = list_snapshot_sets(clients)
    complete = [snapshot_set for snapshot_set in sets if snapshot_set.complete]
    doomed = complete[keep:]
    if complete:
        doomed += [s for s in sets if not s.complete and s.taken_at < complete[0].taken_at]
    removed: list[str] = []
    failures: list[str] = []
    for snapshot_set in sorted(doomed, key=lambda s: (s.taken_at, s.id)):
        try:
            removed += delete_snapshot_set(clients, snapshot_set)
        except RuntimeOperationError as error:
            failures.append(str(error))
    if failures:
        raise RuntimeOperationError(
            f"pruning snapshot sets removed {len(removed)} part(s) but failed: {'; '.join(failures)}"
        )
    return removed


def _delete(doing: str, call: Any, **params: str) -> bool:
    """One snapshot deletion; False when it was gone already (a prune retried after a partial failure)."""
    from botocore.exceptions import ClientError

    with aws_errors(f"{doing} {next(iter(params.values()))}"):
        try:
            call(**params)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in _NOT_FOUND:
                return False
            raise
    return True


def _find_tagged_parts(clients: AwsClients, found: dict[str, _Found]) -> None:
    from botocore.exceptions import ClientError

    ebs: dict[str, dict[str, Any]] | None = None
    for resource in find_tagged(clients.tagging, SET_TAG):
        # Only snapshots are set parts: an environment's resources may carry the tag of the set they came
        # from, and an environment's own final snapshot carries its environment tag.
        if ENV_TAG in resource.tags or TAKEN_TAG not in resource.tags:
            continue
        described: tuple[SnapshotPart, bool] | None = None
        try:
            if (resource.service, resource.kind) == ("rds", "snapshot"):
                answer = clients.rds.describe_db_snapshots(DBSnapshotIdentifier=resource.name)
                described = _rds_part("rds-instance", answer["DBSnapshots"][0])
            elif (resource.service, resource.kind) == ("rds", "cluster-snapshot"):
                answer = clients.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=resource.name)
                described = _rds_part("rds-cluster", answer["DBClusterSnapshots"][0])
            elif (resource.service, resource.kind) == ("ec2", "snapshot"):
                ebs = _ebs_snapshots(clients) if ebs is None else ebs
                described = _ebs_part(ebs.get(resource.name), resource.tags.get(ZONE_TAG))
        except ClientError as error:
            # The tagging API lags behind deletions: a part it names may be gone already.
            if str(error.response.get("Error", {}).get("Code", "")) not in _NOT_FOUND:
                raise
        if described is None:
            continue
        part, available = described
        what = found.setdefault(resource.tags[SET_TAG], _Found())
        what.parts.append(part)
        what.tagged_complete.append(available and resource.tags.get(COMPLETE_TAG) == "true")
        what.taken = resource.tags[TAKEN_TAG]
        what.expected = resource.tags.get(PARTS_TAG, what.expected)


def _rds_part(kind: PartKind, snapshot: dict[str, Any]) -> tuple[SnapshotPart, bool]:
    """The part an RDS snapshot is, and whether it is usable (a snapshot being deleted is not)."""
    if kind == "rds-instance":
        source, name = snapshot["DBInstanceIdentifier"], snapshot["DBSnapshotIdentifier"]
    else:
        source, name = snapshot["DBClusterIdentifier"], snapshot["DBClusterSnapshotIdentifier"]
    size = float(snapshot.get("AllocatedStorage", 0))
    part = SnapshotPart(kind, str(source), str(name), size, engine=snapshot.get("Engine"))
    return part, snapshot.get("Status") == "available"


def _ebs_snapshots(clients: AwsClients) -> dict[str, dict[str, Any]]:
    """The account's set-tagged EBS snapshots in one paginated call (rather than one call per snapshot)."""
    pages = clients.ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"], Filters=[{"Name": "tag-key", "Values": [SET_TAG]}]
    )
    return {snapshot["SnapshotId"]: snapshot for page in pages for snapshot in page.get("Snapshots", [])}


def _ebs_part(snapshot: dict[str, Any] | None, zone: str | None) -> tuple[SnapshotPart, bool] | None:
    if snapshot is None:
        return None
    size = float(snapshot["VolumeSize"])
    part = SnapshotPart("ebs", str(snapshot["VolumeId"]), str(snapshot["SnapshotId"]), size, zone)
    return part, snapshot.get("State") == "completed"


def _find_s3_parts(clients: AwsClients, found: dict[str, _Found]) -> None:
    seed = seed_location(clients.settings)
    if seed is None:
        return
    prefix = sets_prefix(clients.settings)
    copies: list[str] = []
    manifests: list[str] = []
    # Delimiter "/": one entry per set (its copy's prefix, its manifest), not one per copied object.
    pages = clients.s3.get_paginator("list_objects_v2").paginate(
        Bucket=seed.bucket, Prefix=prefix, Delimiter="/"
    )
    for page in pages:
        copies += [item["Prefix"][len(prefix) : -1] for item in page.get("CommonPrefixes", [])]
        manifests += [
            item["Key"][len(prefix) : -len(".json")]
            for item in page.get("Contents", [])
            if item["Key"].endswith(".json")
        ]
    for set_id in filter(is_set_id, manifests):
        body = clients.s3.get_object(Bucket=seed.bucket, Key=f"{prefix}{set_id}.json")["Body"].read()
        manifest = parse_manifest(body)
        what = found.setdefault(set_id, _Found())
        if manifest is not None and manifest.id == set_id:
            what.manifest = manifest
            what.parts += manifest.parts_of("s3")
    for set_id in filter(is_set_id, copies):
        what = found.setdefault(set_id, _Found())
        if what.manifest is None:
            # Cut short before the manifest: the copy is still a part (so it goes with the set), incomplete.
            copy = S3Location(seed.bucket, f"{prefix}{set_id}/")
            size = sum(size for _, size in _objects(clients.s3, copy))
            what.parts.append(SnapshotPart("s3", seed.url, copy.url, size / 1e9))


def _objects(s3: Any, location: S3Location) -> list[tuple[str, int]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.prefix)
    return [(item["Key"], int(item.get("Size", 0))) for page in pages for item in page.get("Contents", [])]


def _assemble(set_id: str, what: _Found) -> SnapshotSet:
    taken_at: datetime | None = None
    if what.taken:
        try:
            taken_at = utc(datetime.fromisoformat(what.taken))
        except ValueError:
            taken_at = None
    if taken_at is None and what.manifest is not None:
        taken_at = what.manifest.taken_at
    taken_at = taken_at or set_id_time(set_id) or datetime.fromtimestamp(0, UTC)
    expected = len(what.manifest.parts) if what.manifest is not None else None
    if what.expected and what.expected.isdigit():
        expected = int(what.expected)
    has_s3 = any(part.kind == "s3" for part in what.parts)
    complete = (
        all(what.tagged_complete)
        and (not has_s3 or (what.manifest is not None and what.manifest.complete))
        and expected == len(what.parts)
    )
    return SnapshotSet(set_id, utc(taken_at), ordered(what.parts), complete)
