"""Snapshot sets on AWS failures a moto server cannot produce: snapshots that never finish, throttling,
refused permissions, a failed snapshot, objects too big for one copy request. Clients are botocore
Stubbers (no server, no network)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.aws.errors import AwsAccessError
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.snapshot_model import parse_manifest
from stagetui.runtimes.aws.snapshot_sets import (
    SnapshotPart,
    SnapshotSet,
    list_snapshot_sets,
    new_set_id,
    take_snapshot_set,
)
from stagetui.runtimes.aws.tags import SET_TAG, TAKEN_TAG
from stagetui.runtimes.base import RuntimeOperationError

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
SET_ID = "set-20261126t130000z-3fa2"
RDS_NAME = f"stagetui-{SET_ID}"
RDS_ARN = f"arn:aws:rds:us-east-1:123456789012:snapshot:{RDS_NAME}"
VOLUME = "vol-0123456789abcdef0"
EBS_SNAPSHOT = "snap-0123456789abcdef0"
TAGS = [
    {"Key": "Name", "Value": f"stagetui {SET_ID}"},
    {"Key": SET_TAG, "Value": SET_ID},
    {"Key": TAKEN_TAG, "Value": "2026-11-26T13:00:00+00:00"},
]


def settings(**production: Any) -> AwsRuntimeConfig:
    # Poll every second for two seconds: the waiter gives up after its second look.
    return AwsRuntimeConfig.model_validate(
        {
            "region": "us-east-1",
            "waiter_delay": 1,
            "waiter_timeout": 2,
            "max_attempts": 3,
            "production": production,
        }
    )


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture(autouse=True)
def fixed_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda _bytes: "3fa2")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Waiters and retries sleep through time.sleep: record the sleeps instead of taking them."""
    taken: list[float] = []
    monkeypatch.setattr(time, "sleep", taken.append)
    return taken


@pytest.fixture
def stubs() -> Iterator[dict[str, Stubber]]:
    made = {service: Stubber(client(service)) for service in ("rds", "ec2", "s3", "resourcegroupstaggingapi")}
    for stubber in made.values():
        stubber.activate()
    yield made
    for stubber in made.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def clients_with(config: AwsRuntimeConfig, stubs: dict[str, Stubber]) -> AwsClients:
    return AwsClients(config, {}, overrides={name: stubber.client for name, stubber in stubs.items()})


def rds_snapshot(status: str) -> dict[str, Any]:
    return {
        "DBSnapshotIdentifier": RDS_NAME,
        "DBInstanceIdentifier": "prod-db",
        "DBSnapshotArn": RDS_ARN,
        "Status": status,
        "AllocatedStorage": 20,
        "Engine": "postgres",
    }


def expect_rds_create(stubs: dict[str, Stubber], status: str) -> None:
    stubs["rds"].add_response(
        "create_db_snapshot",
        {"DBSnapshot": rds_snapshot(status)},
        {"DBSnapshotIdentifier": RDS_NAME, "DBInstanceIdentifier": "prod-db", "Tags": [*TAGS, parts_tag(1)]},
    )


def parts_tag(count: int) -> dict[str, str]:
    return {"Key": "stagetui.parts", "Value": str(count)}


def test_a_snapshot_that_never_becomes_available_times_out_and_is_rolled_back(
    stubs: dict[str, Stubber], sleeps: list[float]
) -> None:
    config = settings(rds_instance="prod-db")
    aws = clients_with(config, stubs)
    assert aws.waiter_config() == {"Delay": 1, "MaxAttempts": 2}
    expect_rds_create(stubs, "creating")
    for _ in range(2):
        stubs["rds"].add_response(
            "describe_db_snapshots",
            {"DBSnapshots": [rds_snapshot("creating")]},
            {"DBSnapshotIdentifier": RDS_NAME},
        )
    # RDS refuses to delete a snapshot that is still being made: the rollback says what it left behind.
    stubs["rds"].add_client_error(
        "delete_db_snapshot",
        service_error_code="InvalidDBSnapshotState",
        service_message="Cannot delete the snapshot because it is not in available state.",
        expected_params={"DBSnapshotIdentifier": RDS_NAME},
    )

    with pytest.raises(RuntimeOperationError) as caught:
        take_snapshot_set(aws, NOW)

    assert str(caught.value) == (
        f"waiting for RDS snapshot {RDS_NAME} of prod-db: gave up waiting (Max attempts exceeded); "
        f"runtimes.aws.waiter_timeout sets how long to wait; rollback left behind rds snapshot {RDS_NAME}"
    )
    assert sleeps == [1]


def test_a_failed_ebs_snapshot_rolls_back_every_part_taken(
    stubs: dict[str, Stubber], sleeps: list[float]
) -> None:
    aws = clients_with(settings(rds_instance="prod-db", ebs_volumes=[VOLUME]), stubs)
    stubs["rds"].add_response(
        "create_db_snapshot",
        {"DBSnapshot": rds_snapshot("creating")},
        {"DBSnapshotIdentifier": RDS_NAME, "DBInstanceIdentifier": "prod-db", "Tags": [*TAGS, parts_tag(2)]},
    )
    stubs["ec2"].add_response(
        "describe_volumes",
        {"Volumes": [{"VolumeId": VOLUME, "AvailabilityZone": "us-east-1c"}]},
        {"VolumeIds": [VOLUME]},
    )
    ebs_tags = [
        {"Key": "Name", "Value": f"stagetui {SET_ID} {VOLUME}"},
        *TAGS[1:],
        parts_tag(2),
        {"Key": "stagetui.zone", "Value": "us-east-1c"},
    ]
    stubs["ec2"].add_response(
        "create_snapshot",
        {"SnapshotId": EBS_SNAPSHOT, "VolumeId": VOLUME, "VolumeSize": 8, "State": "pending"},
        {
            "VolumeId": VOLUME,
            "Description": f"stagetui snapshot set {SET_ID}",
            "TagSpecifications": [{"ResourceType": "snapshot", "Tags": ebs_tags}],
        },
    )
    stubs["rds"].add_response("describe_db_snapshots", {"DBSnapshots": [rds_snapshot("available")]})
    stubs["ec2"].add_response(
        "describe_snapshots",
        {"Snapshots": [{"SnapshotId": EBS_SNAPSHOT, "State": "error"}]},
        {"SnapshotIds": [EBS_SNAPSHOT]},
    )
    stubs["rds"].add_response("delete_db_snapshot", {}, {"DBSnapshotIdentifier": RDS_NAME})
    stubs["ec2"].add_response("delete_snapshot", {}, {"SnapshotId": EBS_SNAPSHOT})
    steps: list[str] = []

    with pytest.raises(RuntimeOperationError) as caught:
        take_snapshot_set(aws, NOW, lambda _fraction, message: steps.append(message))

    message = str(caught.value)
    assert message.startswith(
        f"waiting for EBS snapshot {EBS_SNAPSHOT} of {VOLUME}: gave up waiting "
        "(Waiter encountered a terminal failure state"
    )
    assert "rollback left behind" not in message
    assert steps[-1] == f"waiting for EBS snapshot {EBS_SNAPSHOT} of {VOLUME}"
    assert sleeps == []  # the RDS snapshot was available at once and the EBS one failed on first look


def fake_throttling(calls: list[str]) -> Any:
    """A before-send handler answering every request with RDS's Throttling error. Unlike a Stubber (whose
    answers skip botocore's retry handler), an answer at before-send goes through the real retries."""

    class Raw:
        def stream(self, **_options: Any) -> Iterator[bytes]:
            yield (
                b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
            )

    def handler(request: Any, **_kwargs: Any) -> AWSResponse:
        calls.append(request.url)
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, Raw())

    return handler


def test_throttling_surfaces_after_the_configured_retries_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sleeps: list[float]
) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    # The clients made by AwsClients itself, so the retry config under test is the one it gives them.
    aws = AwsClients(settings(rds_instance="prod-db"), {})
    calls: list[str] = []
    aws.rds.meta.events.register("before-send.rds.CreateDBSnapshot", fake_throttling(calls))

    with pytest.raises(RuntimeOperationError) as caught:
        take_snapshot_set(aws, NOW)

    assert str(caught.value) == (
        "snapshot of RDS instance prod-db: Throttling: Rate exceeded (AWS kept throttling after every retry: "
        "raise max_attempts or use retry_mode adaptive)"
    )
    # runtimes.aws.max_attempts (3) counts every request, the first included.
    assert len(calls) == 3
    assert len(sleeps) == 2  # a back-off before each retry


def test_access_denied_on_a_snapshot_is_an_access_error(stubs: dict[str, Stubber]) -> None:
    aws = clients_with(settings(rds_instance="prod-db"), stubs)
    stubs["rds"].add_client_error(
        "create_db_snapshot",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: rds:CreateDBSnapshot",
        http_status_code=403,
    )

    with pytest.raises(AwsAccessError) as caught:
        take_snapshot_set(aws, NOW)

    # Refused outright: nothing was made, so nothing is deleted (no delete call is stubbed).
    assert str(caught.value) == (
        "snapshot of RDS instance prod-db: AccessDenied: User is not authorized to perform: "
        "rds:CreateDBSnapshot (the credentials lack a permission this needs)"
    )


def test_access_denied_on_listing_is_an_access_error(stubs: dict[str, Stubber]) -> None:
    aws = clients_with(settings(rds_instance="prod-db"), stubs)
    stubs["resourcegroupstaggingapi"].add_client_error(
        "get_resources",
        service_error_code="AccessDeniedException",
        service_message="not allowed: tag:GetResources",
        http_status_code=400,
    )

    with pytest.raises(AwsAccessError, match=r"^listing snapshot sets: AccessDeniedException: not allowed"):
        list_snapshot_sets(aws)


def test_objects_too_big_for_one_copy_request_use_the_managed_copy(stubs: dict[str, Stubber]) -> None:
    aws = clients_with(settings(s3_seed="s3://prod-seeds/seed/"), stubs)
    big = 6 * 1024**3
    stubs["s3"].add_response(
        "list_objects_v2",
        {"Contents": [{"Key": "seed/huge.bin", "Size": big}, {"Key": "seed/small.txt", "Size": 10}]},
        {"Bucket": "prod-seeds", "Prefix": "seed/"},
    )
    target = f"stagetui/sets/{SET_ID}/"
    stubs["s3"].add_response(
        "copy_object",
        {},
        {
            "Bucket": "prod-seeds",
            "Key": target + "small.txt",
            "CopySource": {"Bucket": "prod-seeds", "Key": "seed/small.txt"},
        },
    )
    manifests: list[bytes] = []
    stubs["s3"].add_response("put_object", {})
    stubs["s3"].client.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: manifests.append(params["Body"])
    )
    managed: list[tuple[dict[str, str], str, str]] = []
    stubs["s3"].client.copy = lambda source, bucket, key: managed.append((source, bucket, key))

    taken = take_snapshot_set(aws, NOW)

    assert managed == [({"Bucket": "prod-seeds", "Key": "seed/huge.bin"}, "prod-seeds", target + "huge.bin")]
    part = SnapshotPart("s3", "s3://prod-seeds/seed/", f"s3://prod-seeds/{target}", (big + 10) / 1e9)
    assert taken == SnapshotSet(SET_ID, NOW, (part,), complete=True)
    assert parse_manifest(manifests[0]) == taken


def test_nothing_to_snapshot_is_an_error() -> None:
    with pytest.raises(RuntimeOperationError, match=r"^nothing to snapshot: set runtimes\.aws\.production"):
        take_snapshot_set(AwsClients(settings(), {}), NOW)


def test_set_ids_are_utc_and_valid_inside_rds_identifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda _bytes: "0b9e")
    later_in_berlin = datetime(2026, 11, 26, 14, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert new_set_id(later_in_berlin) == "set-20261126t130005z-0b9e"
    assert new_set_id(datetime(2026, 1, 2, 3, 4, 5)) == "set-20260102t030405z-0b9e"  # naive: taken as UTC
    cluster_identifier = f"stagetui-{new_set_id(NOW)}-cluster"
    # RDS: 1-63 letters, digits and hyphens, starting with a letter, no "--", not ending with "-".
    assert re.fullmatch(r"[a-z](?!.*--)[a-z0-9-]{0,61}[a-z0-9]", cluster_identifier)


def test_a_damaged_manifest_counts_as_none() -> None:
    assert parse_manifest(b"{not json") is None
    assert parse_manifest(b'{"id": "set-x", "parts": [{"kind": "floppy"}]}') is None
