"""Snapshot environments on AWS through the CLI, against the moto server over HTTP: snapshot sets with
retention, restore to a ready environment, tags, SSM config and drift, cost, teardown and gc by tag."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import SMALL_CONFIG
from tests.integration.helpers import cli
from tests.integration.moto_server import queue_cost_explorer_result

pytestmark = pytest.mark.integration

PRODUCTION_PARAMETERS = {
    "/prod/shop/db/host": ("db.shop.internal", "String"),
    "/prod/shop/db/password": ("prod-password-5f1e", "SecureString"),
    "/prod/shop/features/checkout": ("v2", "String"),
    "/prod/shop/regions": ("eu-west-1,us-east-1", "StringList"),
}


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint)


def make_production(endpoint: str) -> dict[str, Any]:
    """What production is on AWS here: a database, a data volume, seed files and its configuration."""
    rds, ec2, s3, ssm = (client(s, endpoint) for s in ("rds", "ec2", "s3", "ssm"))
    rds.create_db_instance(
        DBInstanceIdentifier="prod-db",
        DBInstanceClass="db.r6g.large",
        Engine="postgres",
        MasterUsername="shop",
        MasterUserPassword="prod-master-password",
        AllocatedStorage=100,
    )
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=20)["VolumeId"]
    s3.create_bucket(Bucket="shop-seed")
    for name in ("customers.csv", "orders.csv"):
        s3.put_object(Bucket="shop-seed", Key=f"seed/{name}", Body=b"id,name\n1,x\n")
    for name, (value, kind) in PRODUCTION_PARAMETERS.items():
        ssm.put_parameter(Name=name, Value=value, Type=kind)
    return {"volume": volume}


def aws_config(tmp_path: Path, endpoint: str, volume: str, **production: Any) -> Path:
    data = yaml.safe_load(SMALL_CONFIG.format(customers=300))
    data["runtimes"]["aws"] = {
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "waiter_delay": "1s",
        "waiter_timeout": "30s",
        "keep_sets": 2,
        "production": {
            "rds_instance": "prod-db",
            "ebs_volumes": [volume],
            "s3_seed": "s3://shop-seed/seed/",
            "ssm_path": "/prod/shop/",
            "anonymized": True,
            **production,
        },
    }
    path = tmp_path / "stagetui.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def tagged(endpoint: str, key: str, value: str | None = None) -> list[str]:
    tag_filter: dict[str, Any] = {"Key": key} | ({"Values": [value]} if value else {})
    pages = client("resourcegroupstaggingapi", endpoint).get_paginator("get_resources")
    return [
        m["ResourceARN"] for p in pages.paginate(TagFilters=[tag_filter]) for m in p["ResourceTagMappingList"]
    ]


def set_tags(endpoint: str) -> set[str]:
    """The set ids that snapshots carry (automated snapshots moto makes of restored instances aside)."""
    pages = client("resourcegroupstaggingapi", endpoint).get_paginator("get_resources")
    return {
        tag["Value"]
        for page in pages.paginate(TagFilters=[{"Key": "stagetui.set"}])
        for mapping in page["ResourceTagMappingList"]
        if ":snapshot:rds:" not in mapping["ResourceARN"]
        for tag in mapping["Tags"]
        if tag["Key"] == "stagetui.set"
    }


def s3_keys(endpoint: str, prefix: str) -> list[str]:
    listed = client("s3", endpoint).list_objects_v2(Bucket="shop-seed", Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture
def production(aws_endpoint: str, state_dir: Path) -> dict[str, Any]:
    return make_production(aws_endpoint)


def test_a_snapshot_environment_on_aws_from_set_to_teardown(
    tmp_path: Path, aws_endpoint: str, production: dict[str, Any]
) -> None:
    config = aws_config(tmp_path, aws_endpoint, production["volume"])
    first = cli(config, "snapshot", "refresh", "--runtime", "aws", "--json")
    assert first.code == 0, first.stderr
    taken = first.json()
    assert taken["refreshed"] and taken["set"]["complete"]
    assert sorted(p["kind"] for p in taken["set"]["parts"]) == ["ebs", "rds-instance", "s3"]
    again = cli(config, "snapshot", "refresh", "--runtime", "aws", "--json").json()
    assert not again["refreshed"] and again["set"]["id"] == taken["set"]["id"]  # idempotent for cron

    up = cli(config, "up", "feat/aws", "--strategy", "snapshot", "--runtime", "aws", "--json")
    assert up.code == 0, up.stdout + up.stderr
    env = up.json()
    steps = {s["name"]: s for s in env["steps"]}
    assert {"restore_database", "create_volumes", "copy_seed", "apply_config", "estimate_cost"} <= set(steps)
    assert all(s["outcome"] in ("ok", "skipped") for s in env["steps"])
    assert env["status"] == "ready" and env["data_source"] == f"snapshot set {taken['set']['id']}"
    assert env["freshness"]["as_of"] == taken["set"]["taken_at"]
    assert env["endpoint"].startswith("postgresql://")

    # Every resource carries the environment's tags; the tagging API finds them all.
    arns = tagged(aws_endpoint, "stagetui.env", env["id"])
    assert sorted({arn.split(":")[2] for arn in arns}) == ["ec2", "rds", "ssm"]
    instance = client("rds", aws_endpoint).describe_db_instances(DBInstanceIdentifier=f"stagetui-{env['id']}")
    described = instance["DBInstances"][0]
    assert described["DBInstanceClass"] == "db.t4g.micro"  # smaller than production's by default
    tags = {t["Key"]: t["Value"] for t in described.get("TagList", [])}
    assert tags["stagetui.branch"] == "feat/aws" and tags["stagetui.expires"]
    assert s3_keys(aws_endpoint, f"stagetui/envs/{env['id']}/") == [
        f"stagetui/envs/{env['id']}/customers.csv",
        f"stagetui/envs/{env['id']}/orders.csv",
    ]

    # Its own configuration: production's values, the secret replaced by one of its own.
    ssm = client("ssm", aws_endpoint)
    own = {
        p["Name"]: p
        for p in ssm.get_parameters_by_path(
            Path=f"/stagetui/{env['id']}/", Recursive=True, WithDecryption=True
        )["Parameters"]
    }
    assert own[f"/stagetui/{env['id']}/db/host"]["Value"] == "db.shop.internal"
    # The restored database has a master password of its own, kept apart from its config.
    master = ssm.get_parameter(Name=f"/stagetui/credentials/{env['id']}/master_password", WithDecryption=True)
    assert master["Parameter"]["Type"] == "SecureString"
    assert master["Parameter"]["Value"] not in ("prod-master-password", "")
    password = own[f"/stagetui/{env['id']}/db/password"]
    assert password["Type"] == "SecureString" and password["Value"] != "prod-password-5f1e"

    # Drift: production's SSM path against the environment's.
    clean = cli(config, "drift", "check", env["id"], "--json")
    assert clean.code == 0, clean.stdout + clean.stderr
    ssm.put_parameter(Name="/prod/shop/features/checkout", Value="v3", Type="String", Overwrite=True)
    drifted = cli(config, "drift", "check", env["id"], "--json")
    assert drifted.code in (0, 1) and '"ssm.features.checkout"' in drifted.stdout
    assert "prod-password-5f1e" not in drifted.stdout

    queue_cost_explorer_result(aws_endpoint, ["0.50", "0.75"])
    shown = cli(config, "show", env["id"], "--json").json()
    assert shown["cost_per_day"] > 0  # the estimate, from the price table and what it holds
    assert shown["billed"] == pytest.approx(1.25)  # what Cost Explorer has for its tag, beside it
    assert [s["name"] for s in shown["services"]] == ["database"]

    down = cli(config, "down", env["id"], "--json")
    assert down.code == 0, down.stderr
    assert tagged(aws_endpoint, "stagetui.env", env["id"]) == []
    assert s3_keys(aws_endpoint, f"stagetui/envs/{env['id']}/") == []
    assert cli(config, "ls", "--json").json() == []


def test_snapshot_sets_are_kept_to_keep_sets(
    tmp_path: Path, aws_endpoint: str, production: dict[str, Any]
) -> None:
    config = aws_config(tmp_path, aws_endpoint, production["volume"])
    ids = []
    for _ in range(3):
        refreshed = cli(config, "snapshot", "refresh", "--runtime", "aws", "--force", "--json")
        assert refreshed.code == 0, refreshed.stderr
        ids.append(refreshed.json()["set"]["id"])
        time.sleep(1.1)  # set ids carry the time to the second
    listed = cli(config, "snapshot", "ls", "--runtime", "aws", "--json").json()
    assert [s["id"] for s in listed] == [ids[2], ids[1]]
    assert not any(ids[0] in arn for arn in tagged(aws_endpoint, "stagetui.set"))
    assert s3_keys(aws_endpoint, f"stagetui/sets/{ids[0]}") == []


def test_expired_and_leftover_aws_environments_are_collected_by_tag(
    tmp_path: Path, aws_endpoint: str, production: dict[str, Any], state_dir: Path
) -> None:
    config = aws_config(tmp_path, aws_endpoint, production["volume"])
    up = cli(config, "up", "short", "--strategy", "snapshot", "--runtime", "aws", "--ttl", "1s", "--json")
    assert up.code == 0, up.stdout + up.stderr
    short = up.json()["id"]
    time.sleep(1.2)
    gc = cli(config, "gc", "--json")
    assert gc.code == 0, gc.stdout + gc.stderr
    assert [a["reason"] for a in gc.json()["actions"]] == ["expired"]
    assert tagged(aws_endpoint, "stagetui.env", short) == []

    # A lost store loses history, never track of resources: AWS's tags tell what exists.
    kept = cli(config, "up", "kept", "--strategy", "snapshot", "--runtime", "aws", "--json").json()["id"]
    for stored in (state_dir / "store").rglob("*"):
        if stored.is_file():
            stored.unlink()
    listed = cli(config, "ls", "--json").json()
    assert [(e["id"], e["recorded"], e["branch"]) for e in listed] == [(kept, False, "kept")]
    # Running, so possibly a teammate's: gc leaves it, but it can be torn down by name.
    assert cli(config, "gc", "--json").json()["actions"] == []
    assert cli(config, "down", kept).code == 0
    assert tagged(aws_endpoint, "stagetui.env", kept) == []


def test_refusals_before_anything_is_made(
    tmp_path: Path, aws_endpoint: str, production: dict[str, Any]
) -> None:
    unmasked = aws_config(tmp_path, aws_endpoint, production["volume"], anonymized=False)
    up = cli(unmasked, "up", "raw", "--strategy", "snapshot", "--runtime", "aws", "--json")
    assert up.code == 1
    assert "runtimes.aws.production.anonymized is false" in up.json()["status_detail"]
    assert tagged(aws_endpoint, "stagetui.env") == [] and tagged(aws_endpoint, "stagetui.set") == []

    wrong = cli(unmasked, "up", "raw", "--strategy", "containerized", "--runtime", "aws")
    assert wrong.code == 2 and "the aws runtime provisions snapshot environments" in wrong.stderr


@pytest.mark.parametrize("failing", ["apply_config", "estimate_cost"])
def test_a_failed_step_rolls_back_everything_made_on_aws(
    tmp_path: Path, aws_endpoint: str, production: dict[str, Any], failing: str
) -> None:
    config = aws_config(tmp_path, aws_endpoint, production["volume"])
    failpoint = {"STAGETUI_FAILPOINTS": failing}
    up = cli(config, "up", "rolled", "-s", "snapshot", "--runtime", "aws", "--json", extra_env=failpoint)
    assert up.code == 1
    env = up.json()
    assert env["status"] == "failed" and env["status_detail"].startswith(f"{failing}: ")
    rollback = [s for s in env["steps"] if s["phase"] == "rollback"]
    assert rollback and all(s["outcome"] == "ok" for s in rollback)
    assert tagged(aws_endpoint, "stagetui.env") == []
    assert s3_keys(aws_endpoint, "stagetui/envs/") == []
    sets = cli(config, "snapshot", "ls", "--runtime", "aws", "--json").json()
    if failing == "estimate_cost":  # the set was complete before the failure: shared, it stays
        assert [s["complete"] for s in sets] == [True]
    else:  # the failure may cancel the set's taking half way: then that is undone, never left half made
        assert all(s["complete"] for s in sets)
        listed = {s["id"] for s in sets}
        assert set_tags(aws_endpoint) <= listed


def test_a_run_killed_mid_provision_is_found_by_tag_and_collected(
    tmp_path: Path, aws_endpoint: str, production: dict[str, Any], state_dir: Path
) -> None:
    config = aws_config(tmp_path, aws_endpoint, production["volume"])
    command = [sys.executable, "-m", "stagetui", "--config", str(config), "up", "killed", "-s", "snapshot"]
    command += ["--runtime", "aws"]
    run = subprocess.Popen(
        command,
        env={**os.environ, "STAGETUI_FAILPOINTS": "health_check:hang"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len({arn.split(":")[2] for arn in tagged(aws_endpoint, "stagetui.env")}) < 3:
        assert run.poll() is None and time.monotonic() < deadline, "the run never made its resources"
        time.sleep(0.2)
    time.sleep(0.5)  # the last step before the hang is done making things
    run.send_signal(signal.SIGKILL)
    run.wait()
    listed = cli(config, "ls", "--json").json()
    assert [e["status"] for e in listed] == ["interrupted"]
    gc = cli(config, "gc", "--json")
    assert gc.code == 0, gc.stdout + gc.stderr
    assert [a["reason"] for a in gc.json()["actions"]] == ["interrupted"]
    assert tagged(aws_endpoint, "stagetui.env") == [] and s3_keys(aws_endpoint, "stagetui/envs/") == []


def test_missing_credentials_are_named(tmp_path: Path, aws_endpoint: str, production: dict[str, Any]) -> None:
    config = aws_config(tmp_path, aws_endpoint, production["volume"])
    anonymous = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true"}
    refreshed = cli(config, "snapshot", "refresh", "--runtime", "aws", extra_env=anonymous)
    assert refreshed.code == 1
    assert "no AWS credentials found" in refreshed.stderr and "Traceback" not in refreshed.stderr
