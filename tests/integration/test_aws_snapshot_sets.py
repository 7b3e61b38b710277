"""Snapshot sets against a moto server over HTTP: taking, listing, completeness, retention and rollback.

Moto makes every snapshot available at once, so waiting, timeouts and throttling are covered by the
Stubber tests in tests/unit/test_aws_snapshot_sets_stubbed.py."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.snapshot_sets import (
    SnapshotPart,
    SnapshotSet,
    delete_snapshot_set,
    latest_complete,
    list_snapshot_sets,
    prune_snapshot_sets,
    take_snapshot_set,
)
from stagetui.runtimes.aws.tags import COMPLETE_TAG, SET_TAG, TAKEN_TAG, find_tagged, tag_dict
from stagetui.runtimes.base import RuntimeOperationError

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's default account
BUCKET = "prod-seeds"
SEED = {"seed/a.txt": b"a" * 100, "seed/dir/b.bin": b"b" * 2000, "seed/c": b"ccc"}
SEED_BYTES = 2103
T1 = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Production:
    endpoint: str
    volumes: tuple[str, str]
    """An 8 GB volume in us-east-1a and a 16 GB one in us-east-1b."""


def clients_for(endpoint: str, **production: Any) -> AwsClients:
    # One attempt: moto answers unsupported calls with HTTP 500, which would otherwise be retried.
    settings = AwsRuntimeConfig.model_validate(
        {"endpoint_url": endpoint, "max_attempts": 1, "production": production}
    )
    return AwsClients(settings, environ=os.environ)


@pytest.fixture
def production(aws_endpoint: str) -> Production:
    aws = clients_for(aws_endpoint)
    aws.rds.create_db_instance(
        DBInstanceIdentifier="prod-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="shop",
        MasterUserPassword="production-password",
    )
    small = aws.ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    large = aws.ec2.create_volume(AvailabilityZone="us-east-1b", Size=16)["VolumeId"]
    aws.s3.create_bucket(Bucket=BUCKET)
    for key, body in SEED.items():
        aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    # Neighbours of the seed prefix that must not be copied.
    aws.s3.put_object(Bucket=BUCKET, Key="seedling/x", Body=b"not seed")
    aws.s3.put_object(Bucket=BUCKET, Key="other/y", Body=b"not seed")
    return Production(aws_endpoint, (small, large))


def full(production: Production) -> AwsClients:
    return clients_for(
        production.endpoint,
        rds_instance="prod-db",
        ebs_volumes=list(production.volumes),
        s3_seed=f"s3://{BUCKET}/seed/",
    )


def tagged(aws: AwsClients) -> dict[str, dict[str, str]]:
    """ARN → tags of everything carrying the set tag, through the tagging API."""
    return {resource.arn: resource.tags for resource in find_tagged(aws.tagging, SET_TAG)}


def keys(aws: AwsClients, prefix: str) -> list[str]:
    answer = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def client_error_code(call: Any, **params: Any) -> str:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call(**params)
    return str(caught.value.response["Error"]["Code"])


def test_a_set_snapshots_every_production_part_tags_it_and_copies_the_seed(production: Production) -> None:
    aws = full(production)
    steps: list[tuple[float, str]] = []

    taken = take_snapshot_set(aws, T3, lambda fraction, message: steps.append((fraction, message)))

    assert re.fullmatch(r"set-20261126t130000z-[0-9a-f]{4}", taken.id)
    set_id, rds_name = taken.id, f"stagetui-{taken.id}"
    copy_url = f"s3://{BUCKET}/stagetui/sets/{set_id}/"
    small, large = production.volumes
    ebs = {part.source: part for part in taken.parts_of("ebs")}
    assert taken.taken_at == T3
    assert taken.complete is True
    assert taken.parts == (
        SnapshotPart("rds-instance", "prod-db", rds_name, 20.0, engine="postgres"),
        *sorted(
            [
                SnapshotPart("ebs", small, ebs[small].snapshot, 8.0, zone="us-east-1a"),
                SnapshotPart("ebs", large, ebs[large].snapshot, 16.0, zone="us-east-1b"),
            ],
            key=lambda part: part.source,
        ),
        SnapshotPart("s3", f"s3://{BUCKET}/seed/", copy_url, SEED_BYTES / 1e9),
    )
    assert taken.size_gb == pytest.approx(44.0 + SEED_BYTES / 1e9)
    assert taken.part("rds-instance") == taken.parts[0]
    assert taken.part("rds-cluster") is None

    # Every snapshot carries the set's tags, the complete tag included (checked through each service).
    expected_tags = {SET_TAG: set_id, TAKEN_TAG: "2026-11-26T13:00:00+00:00", COMPLETE_TAG: "true"}
    rds_snapshot = aws.rds.describe_db_snapshots(DBSnapshotIdentifier=rds_name)["DBSnapshots"][0]
    assert rds_snapshot["DBInstanceIdentifier"] == "prod-db"
    assert tag_dict(rds_snapshot["TagList"]).items() >= expected_tags.items()
    assert tag_dict(rds_snapshot["TagList"])["Name"] == f"stagetui {set_id}"
    for volume, part in ebs.items():
        snapshot = aws.ec2.describe_snapshots(SnapshotIds=[part.snapshot])["Snapshots"][0]
        assert snapshot["VolumeId"] == volume
        assert tag_dict(snapshot["Tags"]).items() >= expected_tags.items()
    # ... and through the tagging API, which is how sets are found.
    arns = {
        f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:{rds_name}",
        *(f"arn:aws:ec2:us-east-1:{ACCOUNT}:snapshot/{part.snapshot}" for part in ebs.values()),
    }
    found = tagged(aws)
    assert set(found) == arns
    assert all(tags.items() >= expected_tags.items() for tags in found.values())

    # The seed is copied (only the seed prefix), the manifest describes the set.
    prefix = f"stagetui/sets/{set_id}/"
    assert keys(aws, "stagetui/") == [f"stagetui/sets/{set_id}.json", *sorted(prefix + k[5:] for k in SEED)]
    assert aws.s3.get_object(Bucket=BUCKET, Key=prefix + "dir/b.bin")["Body"].read() == SEED["seed/dir/b.bin"]
    manifest = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=f"stagetui/sets/{set_id}.json")["Body"].read())
    assert manifest["id"] == set_id
    assert manifest["complete"] is True
    assert manifest["taken_at"] == "2026-11-26T13:00:00+00:00"
    assert [part["kind"] for part in manifest["parts"]] == ["rds-instance", "ebs", "ebs", "s3"]
    assert manifest["parts"][3]["snapshot"] == copy_url

    fractions = [fraction for fraction, _ in steps]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert steps[-1][1] == f"snapshot set {set_id} complete (44.0 GB)"
    assert f"waiting for RDS snapshot {rds_name} of prod-db" in [message for _, message in steps]

    # Listed back exactly as taken.
    assert list_snapshot_sets(aws) == [taken]
    assert latest_complete(aws) == taken


def test_an_aurora_cluster_set_is_taken_listed_and_deleted(aws_endpoint: str) -> None:
    aws = clients_for(aws_endpoint, rds_cluster="prod-aurora")
    aws.rds.create_db_cluster(
        DBClusterIdentifier="prod-aurora",
        Engine="aurora-postgresql",
        MasterUsername="shop",
        MasterUserPassword="production-password",
    )
    allocated = float(aws.rds.describe_db_clusters()["DBClusters"][0]["AllocatedStorage"])

    taken = take_snapshot_set(aws, T3)

    name = f"stagetui-{taken.id}-cluster"
    assert taken.parts == (
        SnapshotPart("rds-cluster", "prod-aurora", name, allocated, engine="aurora-postgresql"),
    )
    assert taken.complete is True
    snapshot = aws.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)["DBClusterSnapshots"][
        0
    ]
    assert tag_dict(snapshot["TagList"])[COMPLETE_TAG] == "true"
    assert set(tagged(aws)) == {f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:{name}"}
    assert list_snapshot_sets(aws) == [taken]

    assert delete_snapshot_set(aws, taken) == [f"rds cluster snapshot {name}"]
    code = client_error_code(aws.rds.describe_db_cluster_snapshots, DBClusterSnapshotIdentifier=name)
    assert code == "DBClusterSnapshotNotFoundFault"
    assert list_snapshot_sets(aws) == []
    # Deleting again finds nothing left to remove.
    assert delete_snapshot_set(aws, taken) == []


def test_sets_are_listed_newest_first_and_pruned_to_keep(production: Production) -> None:
    aws = clients_for(
        production.endpoint,
        rds_instance="prod-db",
        ebs_volumes=[production.volumes[0]],
        s3_seed=f"s3://{BUCKET}/seed/",
    )
    first, second, third = (take_snapshot_set(aws, moment) for moment in (T1, T2, T3))

    assert [s.id for s in list_snapshot_sets(aws)] == [third.id, second.id, first.id]
    assert [s.taken_at for s in list_snapshot_sets(aws)] == [T3, T2, T1]

    old_ebs = first.parts_of("ebs")[0].snapshot
    removed = prune_snapshot_sets(aws, keep=2)

    assert removed == [
        f"s3 s3://{BUCKET}/stagetui/sets/{first.id}/ (3 objects)",
        f"rds snapshot stagetui-{first.id}",
        f"ebs snapshot {old_ebs}",
    ]
    assert list_snapshot_sets(aws) == [third, second]
    assert client_error_code(aws.rds.describe_db_snapshots, DBSnapshotIdentifier=f"stagetui-{first.id}") == (
        "DBSnapshotNotFound"
    )
    assert client_error_code(aws.ec2.describe_snapshots, SnapshotIds=[old_ebs]) == "InvalidSnapshot.NotFound"
    assert keys(aws, f"stagetui/sets/{first.id}") == []
    assert {tags[SET_TAG] for tags in tagged(aws).values()} == {second.id, third.id}
    assert prune_snapshot_sets(aws, keep=2) == []


def test_a_set_cut_short_is_incomplete_and_pruned_once_a_newer_set_is_complete(
    production: Production,
) -> None:
    aws = clients_for(production.endpoint, rds_instance="prod-db", s3_seed=f"s3://{BUCKET}/seed/")
    older = take_snapshot_set(aws, T1)
    cut = take_snapshot_set(aws, T2)
    # What a take killed before completion leaves: no complete tag, no manifest.
    aws.rds.remove_tags_from_resource(
        ResourceName=f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:stagetui-{cut.id}", TagKeys=[COMPLETE_TAG]
    )
    aws.s3.delete_object(Bucket=BUCKET, Key=f"stagetui/sets/{cut.id}.json")

    listed = list_snapshot_sets(aws)
    assert [(s.id, s.complete) for s in listed] == [(cut.id, False), (older.id, True)]
    # Without its manifest the copy is still found (so it is deleted with the set), sized by its objects.
    assert listed[0] == SnapshotSet(cut.id, T2, cut.parts, complete=False)
    assert latest_complete(aws) == older
    # Newer than the newest complete set: it may be a take still running, so it stays.
    assert prune_snapshot_sets(aws, keep=2) == []

    newest = take_snapshot_set(aws, T3)
    assert prune_snapshot_sets(aws, keep=2) == [
        f"s3 s3://{BUCKET}/stagetui/sets/{cut.id}/ (3 objects)",
        f"rds snapshot stagetui-{cut.id}",
    ]
    assert list_snapshot_sets(aws) == [newest, older]
    assert keys(aws, f"stagetui/sets/{cut.id}") == []


def test_a_set_missing_a_part_or_its_complete_tag_is_incomplete(production: Production) -> None:
    aws = clients_for(production.endpoint, ebs_volumes=list(production.volumes))
    lost_part = take_snapshot_set(aws, T1)
    untagged = take_snapshot_set(aws, T2)
    aws.ec2.delete_snapshot(SnapshotId=lost_part.parts[0].snapshot)
    aws.ec2.delete_tags(Resources=[untagged.parts[1].snapshot], Tags=[{"Key": COMPLETE_TAG}])

    listed = list_snapshot_sets(aws)

    assert listed == [
        SnapshotSet(untagged.id, T2, untagged.parts, complete=False),
        SnapshotSet(lost_part.id, T1, lost_part.parts[1:], complete=False),
    ]
    assert latest_complete(aws) is None
    # No complete set: nothing is pruned (there is no newer set to fall back on).
    assert prune_snapshot_sets(aws, keep=1) == []


def test_a_seed_only_set_is_found_through_its_manifest(production: Production) -> None:
    aws = clients_for(production.endpoint, s3_seed=f"s3://{BUCKET}/seed")

    taken = take_snapshot_set(aws, T1)

    copy = f"s3://{BUCKET}/stagetui/sets/{taken.id}/"
    assert taken.parts == (SnapshotPart("s3", f"s3://{BUCKET}/seed/", copy, SEED_BYTES / 1e9),)
    assert tagged(aws) == {}
    assert list_snapshot_sets(aws) == [taken]

    aws.s3.delete_object(Bucket=BUCKET, Key=f"stagetui/sets/{taken.id}.json")
    # Without tags or manifest the as-of time comes from the set id (to the second).
    assert list_snapshot_sets(aws) == [SnapshotSet(taken.id, T1, taken.parts, complete=False)]


def test_a_missing_production_instance_fails_with_the_hint_and_leaves_nothing(production: Production) -> None:
    aws = clients_for(
        production.endpoint,
        rds_instance="prod-gone",
        ebs_volumes=list(production.volumes),
        s3_seed=f"s3://{BUCKET}/seed/",
    )

    with pytest.raises(RuntimeOperationError) as caught:
        take_snapshot_set(aws, T1)

    assert str(caught.value) == (
        "snapshot of RDS instance prod-gone: DBInstanceNotFound: DBInstance prod-gone not found. "
        "(no such RDS instance: check runtimes.aws.production.rds_instance)"
    )
    assert tagged(aws) == {}
    assert keys(aws, "stagetui/") == []
    assert list_snapshot_sets(aws) == []


def test_a_failure_after_some_parts_were_made_rolls_them_back(production: Production) -> None:
    missing = "vol-0123456789abcdef0"
    aws = clients_for(
        production.endpoint,
        rds_instance="prod-db",
        ebs_volumes=[production.volumes[0], missing],
        s3_seed=f"s3://{BUCKET}/seed/",
    )

    with pytest.raises(RuntimeOperationError, match=r"^snapshot of EBS volume vol-0123456789abcdef0: "):
        take_snapshot_set(aws, T1)

    assert tagged(aws) == {}
    assert aws.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    made = aws.ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [production.volumes[0]]}])
    assert made["Snapshots"] == []
    assert list_snapshot_sets(aws) == []


def test_an_interrupted_take_rolls_back_the_seed_copy_too(production: Production) -> None:
    aws = full(production)

    def interrupt(_fraction: float, message: str) -> None:
        if message.startswith("waiting for"):  # every snapshot started and the seed copied
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        take_snapshot_set(aws, T1, interrupt)

    assert tagged(aws) == {}
    assert aws.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    assert keys(aws, "stagetui/") == []
    assert keys(aws, "seed/") == sorted(SEED)  # the seed itself is untouched
    assert list_snapshot_sets(aws) == []


def test_nothing_configured_is_an_error(aws_endpoint: str) -> None:
    with pytest.raises(RuntimeOperationError, match=r"set runtimes\.aws\.production"):
        take_snapshot_set(clients_for(aws_endpoint), T1)


def test_a_set_that_cannot_be_deleted_does_not_stop_the_prune(
    production: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stagetui.runtimes.aws import snapshot_sets

    aws = clients_for(production.endpoint, rds_instance="prod-db")
    first, second, third = (take_snapshot_set(aws, moment) for moment in (T1, T2, T3))
    assert [s.id for s in list_snapshot_sets(aws)] == [third.id, second.id, first.id]
    real_delete = snapshot_sets.delete_snapshot_set

    def refuse_first(clients: AwsClients, snapshot_set: SnapshotSet) -> list[str]:
        if snapshot_set.id == first.id:
            raise RuntimeOperationError(f"deleting snapshot set {first.id}: InvalidDBSnapshotState: creating")
        return real_delete(clients, snapshot_set)

    monkeypatch.setattr(snapshot_sets, "delete_snapshot_set", refuse_first)

    with pytest.raises(RuntimeOperationError) as caught:
        prune_snapshot_sets(aws, keep=1)

    assert str(caught.value) == (
        "pruning snapshot sets removed 1 part(s) but failed: "
        f"deleting snapshot set {first.id}: InvalidDBSnapshotState: creating"
    )
    assert [s.id for s in list_snapshot_sets(aws)] == [third.id, first.id]
