"""One environment's AWS resources against a moto server over HTTP: made from a "production" snapshot,
tagged, found, relabelled and removed by tag; its cost from Cost Explorer's queued results."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.config import Config

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.aws import environment as resources
from stagetui.runtimes.aws.cost import GIB, actual_cost, environment_sizes, estimate_per_day
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.tags import ENV_TAG, find_tagged, tag_dict
from stagetui.runtimes.base import RuntimeOperationError
from tests.integration.moto_server import REGION, queue_cost_explorer_result

pytestmark = pytest.mark.integration

BUCKET = "seed-bucket"
SET_PREFIX = "stagetui/sets/set1/"
SEED = {"a.txt": b"alpha", "img/b.bin": b"\x00" * 1000, "img/deep/c.json": b'{"c": 3}'}
SEED_BYTES = sum(len(body) for body in SEED.values())  # 1013
ENV = "feat-x-snap-1a2b3"
LABELS = {
    ENV_TAG: ENV,
    "stagetui.uid": "u-123",
    # Characters RDS, SSM and S3 refuse in a tag: they arrive as "_".
    "stagetui.branch": "feat/x$(rm)",
    "stagetui.strategy": "snapshot",
    "stagetui.owner": "ana",
    "stagetui.created": "2024-05-01T10:00:00+00:00",
    "stagetui.expires": "2024-05-02T10:00:00+00:00",
}
AWS_LABELS = LABELS | {"stagetui.branch": "feat/x__rm_"}


def settings(endpoint: str, **environment: Any) -> AwsRuntimeConfig:
    return AwsRuntimeConfig.model_validate(
        {
            "endpoint_url": endpoint,
            "production": {"s3_seed": f"s3://{BUCKET}/seed/"},
            "environment": environment,
            # One attempt: moto answers what it does not implement with HTTP 500, which would be retried.
            "max_attempts": 1,
            "waiter_delay": 1,
            "waiter_timeout": 5,
        }
    )


def client(endpoint: str, service: str) -> Any:
    return boto3.session.Session().client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


@dataclass
class Production:
    endpoint: str
    db_snapshot: str
    ebs_snapshot: str
    volume_zone: str


@pytest.fixture
def production(aws_endpoint: str) -> Production:
    """Production's database, volume and seed files, each with a snapshot set's part taken of it."""
    rds, ec2, s3 = (client(aws_endpoint, name) for name in ("rds", "ec2", "s3"))
    rds.create_db_instance(
        DBInstanceIdentifier="prod-db",
        Engine="postgres",
        DBInstanceClass="db.m5.large",
        AllocatedStorage=20,
        MasterUsername="shop",
        MasterUserPassword="not-a-secret",
    )
    rds.create_db_snapshot(DBInstanceIdentifier="prod-db", DBSnapshotIdentifier="stagetui-set1")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])
    s3.create_bucket(Bucket=BUCKET)
    for key, body in SEED.items():
        s3.put_object(Bucket=BUCKET, Key=SET_PREFIX + key, Body=body)
    s3.put_object(Bucket=BUCKET, Key="seed/a.txt", Body=b"production's own")
    return Production(aws_endpoint, "stagetui-set1", snapshot["SnapshotId"], "us-east-1a")


def clients_for(config: AwsRuntimeConfig) -> AwsClients:
    return AwsClients(config, os.environ)


def tagged_arns(clients: AwsClients, environment_id: str) -> list[str]:
    return sorted(r.arn for r in find_tagged(clients.tagging, ENV_TAG, environment_id))


def env_keys(clients: AwsClients, environment_id: str) -> list[str]:
    prefix = f"stagetui/envs/{environment_id}/"
    answer = clients.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"][len(prefix) :] for obj in answer.get("Contents", []))


def object_tags(clients: AwsClients, key: str) -> dict[str, str]:
    return tag_dict(clients.s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"])


def test_an_environment_is_made_found_relabelled_and_removed_by_tag(production: Production) -> None:
    clients = clients_for(settings(production.endpoint))
    steps: list[tuple[float, str]] = []

    endpoint = resources.restore_instance(
        clients, production.db_snapshot, ENV, LABELS, lambda f, m: steps.append((f, m))
    )

    instance = clients.rds.describe_db_instances(DBInstanceIdentifier=f"stagetui-{ENV}")["DBInstances"][0]
    assert endpoint == f"{instance['Endpoint']['Address']}:{instance['Endpoint']['Port']}"
    assert endpoint.startswith(f"stagetui-{ENV}.") and endpoint.endswith(":5432")
    assert instance["DBInstanceClass"] == "db.t4g.micro"
    assert tag_dict(instance["TagList"]) == AWS_LABELS
    fractions = [fraction for fraction, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert resources.database_status(clients, ENV) == ("available", endpoint)

    volumes = resources.create_volumes(
        clients, [(production.ebs_snapshot, production.volume_zone, 8.0)], ENV, LABELS
    )
    (volume,) = clients.ec2.describe_volumes(VolumeIds=volumes)["Volumes"]
    assert (volume["AvailabilityZone"], volume["Size"], volume["VolumeType"], volume["SnapshotId"]) == (
        "us-east-1a",
        8,
        "gp3",
        production.ebs_snapshot,
    )
    assert tag_dict(volume["Tags"]) == AWS_LABELS

    target = resources.seed_prefix(clients.settings, BUCKET, ENV)
    assert target == f"s3://{BUCKET}/stagetui/envs/{ENV}/"
    assert resources.copy_prefix(clients, f"s3://{BUCKET}/{SET_PREFIX}", target, LABELS) == SEED_BYTES
    assert env_keys(clients, ENV) == sorted(SEED)
    copied = clients.s3.get_object(Bucket=BUCKET, Key=f"stagetui/envs/{ENV}/img/deep/c.json")["Body"].read()
    assert copied == SEED["img/deep/c.json"]
    assert object_tags(clients, f"stagetui/envs/{ENV}/a.txt") == AWS_LABELS

    path = resources.config_path(clients.settings, ENV)
    assert path == f"/stagetui/{ENV}/"
    values = {"db.host": endpoint.split(":")[0], "db.password": "s3cret", "feature": "on"}
    assert resources.write_config(clients, path, values, {"db.password"}, LABELS) == 3
    written = clients.ssm.get_parameters_by_path(Path=path, Recursive=True, WithDecryption=True)["Parameters"]
    assert {(p["Name"], p["Type"], p["Value"]) for p in written} == {
        (f"{path}db/host", "String", values["db.host"]),
        (f"{path}db/password", "SecureString", "s3cret"),
        (f"{path}feature", "String", "on"),
    }
    # Written again (a re-render): values replaced, tags still on them.
    assert resources.write_config(clients, path, values | {"feature": "off"}, {"db.password"}, LABELS) == 3
    assert clients.ssm.get_parameter(Name=f"{path}feature")["Parameter"]["Value"] == "off"
    feature_tags = clients.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{path}feature")
    assert tag_dict(feature_tags["TagList"]) == AWS_LABELS

    found = resources.find_environments(clients, BUCKET)
    assert found == {
        ENV: resources.AwsEnvironment(
            ENV,
            AWS_LABELS,
            (
                f"rds instance stagetui-{ENV}",
                f"ebs volume {volumes[0]}",
                f"ssm parameter {path}db/host",
                f"ssm parameter {path}db/password",
                f"ssm parameter {path}feature",
                f"s3 {target} (3 objects)",
            ),
            True,
        )
    }

    resources.relabel(
        clients, ENV, {"stagetui.branch": "feat/y", "stagetui.expires": "2024-06-01T00:00:00+00:00"}
    )
    relabelled = AWS_LABELS | {"stagetui.branch": "feat/y", "stagetui.expires": "2024-06-01T00:00:00+00:00"}
    assert len(tagged_arns(clients, ENV)) == 5
    for resource in find_tagged(clients.tagging, ENV_TAG, ENV):
        assert resource.tags == relabelled, resource.arn
    for key in SEED:
        assert object_tags(clients, f"stagetui/envs/{ENV}/{key}") == relabelled, key

    sizes = environment_sizes(clients, ENV, BUCKET)
    assert sizes == ("db.t4g.micro", 20.0, 8.0, SEED_BYTES / GIB)
    estimate = estimate_per_day(clients.settings.prices, *sizes)
    assert set(estimate.breakdown) == {
        "instance db.t4g.micro",
        "rds storage 20 GB",
        "ebs 8 GB",
        f"s3 {SEED_BYTES / GIB:g} GB",
    }
    assert estimate.per_day == pytest.approx(
        0.384 + 20 * 0.115 / 30.4375 + 8 * 0.08 / 30.4375 + SEED_BYTES / GIB * 0.023 / 30.4375
    )

    removed = resources.delete_environment(clients, ENV, BUCKET)

    assert removed == [
        f"rds instance stagetui-{ENV}",
        f"ebs volume {volumes[0]}",
        f"ssm parameter {path}db/host",
        f"ssm parameter {path}db/password",
        f"ssm parameter {path}feature",
        f"s3 {target} (3 objects)",
    ]
    assert tagged_arns(clients, ENV) == []
    assert env_keys(clients, ENV) == []
    assert resources.find_environments(clients, BUCKET) == {}
    assert resources.database_status(clients, ENV) is None
    assert resources.delete_environment(clients, ENV, BUCKET) == []
    # Production and the snapshot set are not the environment's.
    assert clients.rds.describe_db_instances(DBInstanceIdentifier="prod-db")["DBInstances"]
    assert clients.rds.describe_db_snapshots(DBSnapshotIdentifier="stagetui-set1")["DBSnapshots"]
    assert clients.ec2.describe_snapshots(SnapshotIds=[production.ebs_snapshot])["Snapshots"]
    set_objects = clients.s3.list_objects_v2(Bucket=BUCKET, Prefix=SET_PREFIX)["KeyCount"]
    assert set_objects == len(SEED)
    # No snapshot was kept: final_snapshot is off.
    kept = clients.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in kept] == ["stagetui-set1"]


def test_a_cluster_is_restored_with_one_instance_and_removed_instance_first(aws_endpoint: str) -> None:
    rds = client(aws_endpoint, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="prod-cluster",
        Engine="aurora-postgresql",
        MasterUsername="shop",
        MasterUserPassword="not-a-secret",
    )
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="prod-cluster", DBClusterSnapshotIdentifier="stagetui-set2"
    )
    clients = clients_for(settings(aws_endpoint, instance_class="db.t4g.medium"))

    endpoint = resources.restore_cluster(clients, "stagetui-set2", "aurora-postgresql", ENV, LABELS)

    cluster = clients.rds.describe_db_clusters(DBClusterIdentifier=f"stagetui-{ENV}")["DBClusters"][0]
    assert endpoint == f"{cluster['Endpoint']}:{cluster['Port']}"
    assert f"stagetui-{ENV}.cluster-" in endpoint
    assert tag_dict(cluster["TagList"]) == AWS_LABELS
    member = clients.rds.describe_db_instances(DBInstanceIdentifier=f"stagetui-{ENV}-1")["DBInstances"][0]
    assert (member["DBClusterIdentifier"], member["DBInstanceClass"]) == (f"stagetui-{ENV}", "db.t4g.medium")
    assert tag_dict(member["TagList"]) == AWS_LABELS
    assert resources.database_status(clients, ENV) == ("available", endpoint)
    # The seed bucket was never made in this test: a missing bucket holds no environment's files.
    found = resources.find_environments(clients, BUCKET)
    assert found[ENV].resources == (f"rds cluster stagetui-{ENV}", f"rds instance stagetui-{ENV}-1")
    assert found[ENV].running is True
    # Aurora storage is billed by use: no allocated size counts (the instance reports a placeholder 1 GB).
    assert environment_sizes(clients, ENV, BUCKET) == ("db.t4g.medium", 0.0, 0.0, 0.0)

    removed = resources.delete_environment(clients, ENV, BUCKET)

    assert removed == [f"rds instance stagetui-{ENV}-1", f"rds cluster stagetui-{ENV}"]
    assert tagged_arns(clients, ENV) == []
    assert resources.delete_environment(clients, ENV, None) == []


def test_a_final_snapshot_is_kept_when_configured_and_does_not_carry_the_environment(
    production: Production,
) -> None:
    clients = clients_for(settings(production.endpoint, final_snapshot=True))
    resources.restore_instance(clients, production.db_snapshot, ENV, LABELS)

    assert resources.delete_environment(clients, ENV, BUCKET) == [f"rds instance stagetui-{ENV}"]

    kept = [
        s
        for s in clients.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        if s["DBSnapshotIdentifier"] != "stagetui-set1"
    ]
    assert len(kept) == 1
    assert kept[0]["DBSnapshotIdentifier"].startswith(f"stagetui-{ENV}-final-")
    assert ENV_TAG not in tag_dict(kept[0].get("TagList"))
    assert tagged_arns(clients, ENV) == []


def test_volumes_go_to_the_configured_zone_and_need_one(production: Production) -> None:
    zoned = clients_for(settings(production.endpoint, availability_zone="us-east-1c"))
    (volume,) = resources.create_volumes(zoned, [(production.ebs_snapshot, "us-east-1a", 8.0)], ENV, LABELS)
    assert zoned.ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["AvailabilityZone"] == "us-east-1c"

    with pytest.raises(RuntimeOperationError, match="no availability zone"):
        resources.create_volumes(
            clients_for(settings(production.endpoint)), [(production.ebs_snapshot, None, 8.0)], ENV, LABELS
        )


def test_an_environment_with_only_seed_files_is_found_by_its_prefix(production: Production) -> None:
    clients = clients_for(settings(production.endpoint))
    target = resources.seed_prefix(clients.settings, BUCKET, "only-files")
    resources.copy_prefix(
        clients, f"s3://{BUCKET}/{SET_PREFIX}img/", target, LABELS | {ENV_TAG: "only-files"}
    )
    # A prefix with no objects under it is no environment.
    clients.s3.put_object(Bucket=BUCKET, Key="stagetui/envs-not/x", Body=b"")

    found = resources.find_environments(clients, BUCKET)

    assert found == {
        "only-files": resources.AwsEnvironment(
            "only-files", AWS_LABELS | {ENV_TAG: "only-files"}, (f"s3 {target} (2 objects)",), True
        )
    }
    assert env_keys(clients, "only-files") == ["b.bin", "deep/c.json"]
    # relabel finds the bucket from runtimes.aws.production.s3_seed when not given one.
    resources.relabel(clients, "only-files", {"stagetui.owner": "bo"})
    assert object_tags(clients, "stagetui/envs/only-files/b.bin")["stagetui.owner"] == "bo"
    assert resources.delete_environment(clients, "only-files", BUCKET) == [f"s3 {target} (2 objects)"]


def test_objects_too_big_for_copy_object_go_through_the_managed_copy(
    production: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "COPY_OBJECT_LIMIT", 10)
    clients = clients_for(settings(production.endpoint))
    target = resources.seed_prefix(clients.settings, BUCKET, ENV)
    sent: list[str] = []
    clients.s3.meta.events.register("before-call.s3.*", lambda model, **_: sent.append(model.name))

    assert resources.copy_prefix(clients, f"s3://{BUCKET}/{SET_PREFIX}", target, LABELS) == SEED_BYTES

    assert "HeadObject" in sent  # the managed copy looks at its source first; CopyObject alone does not
    assert env_keys(clients, ENV) == sorted(SEED)
    assert object_tags(clients, f"stagetui/envs/{ENV}/img/b.bin") == AWS_LABELS


def test_config_with_an_empty_value_is_refused_before_anything_is_written(aws_endpoint: str) -> None:
    clients = clients_for(settings(aws_endpoint))
    path = resources.config_path(clients.settings, ENV)
    with pytest.raises(RuntimeOperationError, match=r"empty value: db\.user"):
        resources.write_config(clients, path, {"a": "1", "db.user": ""}, set(), LABELS)
    assert clients.ssm.get_parameters_by_path(Path=path, Recursive=True)["Parameters"] == []


def test_actual_cost_sums_what_cost_explorer_has_for_the_environment(aws_endpoint: str) -> None:
    queue_cost_explorer_result(aws_endpoint, ["0.4125", "1.25", "0.0875"])
    clients = clients_for(settings(aws_endpoint))
    asked: list[dict[str, Any]] = []
    clients.cost_explorer.meta.events.register(
        "provide-client-params.ce.GetCostAndUsage", lambda params, **_: asked.append(dict(params))
    )

    assert actual_cost(clients, ENV, date(2024, 5, 1), date(2024, 5, 4)) == pytest.approx(1.75, abs=1e-12)
    assert asked == [
        {
            "TimePeriod": {"Start": "2024-05-01", "End": "2024-05-04"},
            "Granularity": "DAILY",
            "Metrics": ["UnblendedCost"],
            "Filter": {"Tags": {"Key": ENV_TAG, "Values": [ENV]}},
        }
    ]
    # Another environment's query takes the next queued result: none, so nothing billed.
    assert actual_cost(clients, "other-env", date(2024, 5, 1), date(2024, 5, 4)) == 0.0


def test_an_unreachable_cost_explorer_gives_no_cost(aws_endpoint: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clients = clients_for(settings(f"http://127.0.0.1:{port}"))
    assert actual_cost(clients, ENV, date(2024, 5, 1), date(2024, 5, 4)) is None
