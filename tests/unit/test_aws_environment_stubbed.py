"""What moto cannot show about an environment's AWS resources: a database that never becomes available,
refused and throttled calls, and a teardown where one resource will not go. botocore's Stubber answers
instead of AWS; throttling goes through a real client so botocore's retries run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.aws import environment as resources
from stagetui.runtimes.aws import inventory
from stagetui.runtimes.aws.errors import AwsAccessError
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.tags import ENV_TAG
from stagetui.runtimes.base import RuntimeOperationError

REGION = "us-east-1"
ACCOUNT = "123456789012"
ENV = "feat-x-snap-1a2b3"
DB = f"stagetui-{ENV}"
LABELS = {ENV_TAG: ENV, "stagetui.branch": "feat/x"}
TAGS = [{"Key": ENV_TAG, "Value": ENV}, {"Key": "stagetui.branch", "Value": "feat/x"}]


def settings(**values: Any) -> AwsRuntimeConfig:
    # Three polls a second apart: the waiter gives up after the third "creating".
    return AwsRuntimeConfig.model_validate(
        {"waiter_delay": 1, "waiter_timeout": 3, "max_attempts": 3} | values
    )


def boto_client(service: str) -> Any:
    return boto3.session.Session().client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


class Stubs:
    """Stubbed clients by service, given to AwsClients as overrides."""

    def __init__(self, *services: str) -> None:
        self.clients = {service: boto_client(service) for service in services}
        self.stubs = {service: Stubber(client) for service, client in self.clients.items()}

    def __getitem__(self, service: str) -> Stubber:
        return self.stubs[service]

    def aws(self, config: AwsRuntimeConfig | None = None) -> AwsClients:
        return AwsClients(config or settings(), {"AWS_DEFAULT_REGION": REGION}, overrides=dict(self.clients))

    def __enter__(self) -> Stubs:
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stub in self.stubs.values():
            stub.deactivate()

    def assert_all_used(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Waiters and retries sleep through here, instantly."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept


def instance(status: str, **more: Any) -> dict[str, Any]:
    return {"DBInstanceIdentifier": DB, "DBInstanceStatus": status, **more}


def test_a_database_that_stays_creating_fails_once_the_waiter_timeout_is_over(sleeps: list[float]) -> None:
    with Stubs("rds") as stubs:
        stubs["rds"].add_response(
            "restore_db_instance_from_db_snapshot",
            {"DBInstance": instance("creating")},
            {
                "DBInstanceIdentifier": DB,
                "DBSnapshotIdentifier": "stagetui-set1",
                "DBInstanceClass": "db.t4g.micro",
                "Tags": TAGS,
                "CopyTagsToSnapshot": False,
            },
        )
        for _ in range(3):
            stubs["rds"].add_response(
                "describe_db_instances", {"DBInstances": [instance("creating")]}, {"DBInstanceIdentifier": DB}
            )

        with pytest.raises(RuntimeOperationError) as raised:
            resources.restore_instance(stubs.aws(), "stagetui-set1", ENV, LABELS)

        stubs.assert_all_used()
    message = str(raised.value)
    assert message.startswith(
        f"environment {ENV}: RDS instance {DB}: waiting until available: gave up waiting"
    )
    assert "Max attempts exceeded" in message
    assert "runtimes.aws.waiter_timeout" in message
    assert sleeps == [1, 1]


def test_a_refused_restore_is_an_access_error_and_nothing_is_waited_for(sleeps: list[float]) -> None:
    with Stubs("rds") as stubs:
        stubs["rds"].add_client_error(
            "restore_db_instance_from_db_snapshot",
            service_error_code="AccessDenied",
            service_message="User is not authorized to perform: rds:RestoreDBInstanceFromDBSnapshot",
            http_status_code=403,
        )

        with pytest.raises(AwsAccessError) as raised:
            resources.restore_instance(stubs.aws(), "stagetui-set1", ENV, LABELS)

        stubs.assert_all_used()
    assert str(raised.value) == (
        f"environment {ENV}: RDS instance {DB}: restoring from snapshot stagetui-set1: AccessDenied: "
        "User is not authorized to perform: rds:RestoreDBInstanceFromDBSnapshot "
        "(the credentials lack a permission this needs)"
    )
    assert sleeps == []


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


THROTTLED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
    b"<Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
)


def test_throttling_is_retried_max_attempts_times_then_named(
    sleeps: list[float], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients = AwsClients(settings(max_attempts=4), {"AWS_DEFAULT_REGION": REGION})
    sent: list[str] = []

    def throttle(request: Any, **_: Any) -> AWSResponse:
        # Answered in place of the HTTP request: botocore's retry handler sees it as AWS's answer.
        sent.append(request.url)
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Body(THROTTLED))

    clients.rds.meta.events.register("before-send.rds.RestoreDBInstanceFromDBSnapshot", throttle)

    with pytest.raises(RuntimeOperationError) as raised:
        resources.restore_instance(clients, "stagetui-set1", ENV, LABELS)

    assert len(sent) == 4
    assert len(sleeps) == 3  # backoff between attempts
    assert str(raised.value) == (
        f"environment {ENV}: RDS instance {DB}: restoring from snapshot stagetui-set1: Throttling: "
        "Rate exceeded (AWS kept throttling after every retry: raise max_attempts or use retry_mode adaptive)"
    )


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def expect_inventory(
    stubs: Stubs,
    *,
    tagged: list[str],
    instances: dict[str, dict[str, Any] | None],
    cluster: dict[str, Any] | None,
    volumes: list[tuple[str, int]],
    parameters: list[str],
) -> None:
    """The lookups owned_resources makes, in order."""
    stubs["resourcegroupstaggingapi"].add_response(
        "get_resources",
        {"ResourceTagMappingList": [{"ResourceARN": a, "Tags": TAGS} for a in tagged]},
        {"TagFilters": [{"Key": ENV_TAG, "Values": [ENV]}]},
    )
    for name, description in instances.items():
        if description is None:
            stubs["rds"].add_client_error(
                "describe_db_instances", "DBInstanceNotFound", expected_params={"DBInstanceIdentifier": name}
            )
        else:
            stubs["rds"].add_response(
                "describe_db_instances", {"DBInstances": [description]}, {"DBInstanceIdentifier": name}
            )
    if cluster is None:
        stubs["rds"].add_client_error(
            "describe_db_clusters", "DBClusterNotFoundFault", expected_params={"DBClusterIdentifier": DB}
        )
    else:
        stubs["rds"].add_response(
            "describe_db_clusters", {"DBClusters": [cluster]}, {"DBClusterIdentifier": DB}
        )
    stubs["ec2"].add_response(
        "describe_volumes",
        {"Volumes": [{"VolumeId": v, "Size": size} for v, size in volumes]},
        {"Filters": [{"Name": f"tag:{ENV_TAG}", "Values": [ENV]}]},
    )
    stubs["ssm"].add_response(
        "get_parameters_by_path",
        {"Parameters": [{"Name": name} for name in parameters]},
        {"Path": f"/stagetui/{ENV}/", "Recursive": True},
    )


SERVICES = ("resourcegroupstaggingapi", "rds", "ec2", "ssm", "s3")


def test_teardown_removes_what_it_can_and_then_names_what_would_not_go() -> None:
    with Stubs(*SERVICES) as stubs:
        expect_inventory(
            stubs,
            tagged=[arn("rds", f"db:{DB}"), arn("ec2", "volume/vol-1")],
            instances={DB: instance("available", TagList=TAGS), f"{DB}-1": None},
            cluster=None,
            volumes=[("vol-1", 8), ("vol-2", 4)],
            parameters=[f"/stagetui/{ENV}/a", f"/stagetui/{ENV}/b"],
        )
        stubs["rds"].add_response(
            "delete_db_instance",
            {"DBInstance": instance("deleting")},
            {"DBInstanceIdentifier": DB, "DeleteAutomatedBackups": True, "SkipFinalSnapshot": True},
        )
        stubs["ec2"].add_client_error(
            "delete_volume",
            "VolumeInUse",
            "vol-1 is attached to i-0abc",
            expected_params={"VolumeId": "vol-1"},
        )
        # Gone between listing and deleting: nothing to report, no failure either.
        stubs["ec2"].add_client_error(
            "delete_volume", "InvalidVolume.NotFound", expected_params={"VolumeId": "vol-2"}
        )
        stubs["ssm"].add_response(
            "delete_parameters",
            {"DeletedParameters": [f"/stagetui/{ENV}/a"], "InvalidParameters": [f"/stagetui/{ENV}/b"]},
            {"Names": [f"/stagetui/{ENV}/a", f"/stagetui/{ENV}/b"]},
        )

        with pytest.raises(RuntimeOperationError) as raised:
            resources.delete_environment(stubs.aws(), ENV, None)

        stubs.assert_all_used()
    assert not isinstance(raised.value, AwsAccessError)
    assert str(raised.value) == (
        f"environment {ENV}: 1 removal(s) failed: environment {ENV}: deleting ebs volume vol-1: VolumeInUse: "
        f"vol-1 is attached to i-0abc; removed 2: rds instance {DB}, ssm parameter /stagetui/{ENV}/a"
    )


def test_a_cluster_goes_after_its_instance_with_a_final_snapshot_and_a_deleting_one_is_left_alone() -> None:
    config = settings(environment={"final_snapshot": True})
    member = instance("available", DBInstanceIdentifier=f"{DB}-1", DBClusterIdentifier=DB, TagList=TAGS)
    cluster = {"DBClusterIdentifier": DB, "Status": "available", "TagList": TAGS, "DBClusterArn": "c"}
    with Stubs(*SERVICES) as stubs:
        expect_inventory(
            stubs,
            tagged=[],
            instances={DB: instance("deleting", TagList=TAGS), f"{DB}-1": member},
            cluster=cluster,
            volumes=[],
            parameters=[],
        )
        stubs["rds"].add_response(
            "delete_db_instance",
            {"DBInstance": member},
            {"DBInstanceIdentifier": f"{DB}-1", "SkipFinalSnapshot": True},
        )
        stubs["rds"].add_response(
            "delete_db_cluster",
            {"DBCluster": cluster},
            {
                "DBClusterIdentifier": DB,
                "DeleteAutomatedBackups": True,
                "SkipFinalSnapshot": False,
                "FinalDBSnapshotIdentifier": ANY,
            },
        )
        final: list[str] = []
        stubs.clients["rds"].meta.events.register(
            "provide-client-params.rds.DeleteDBCluster",
            lambda params, **_: final.append(params["FinalDBSnapshotIdentifier"]),
        )

        removed = resources.delete_environment(stubs.aws(config), ENV, None)

        stubs.assert_all_used()
    assert removed == [f"rds instance {DB}-1", f"rds cluster {DB}"]
    (name,) = final
    assert name.startswith(f"stagetui-{ENV}-final-") and len(name) == len(f"stagetui-{ENV}-final-") + 14


def test_an_instance_named_like_ours_but_tagged_for_another_environment_is_not_ours() -> None:
    stranger = instance(
        "available", DBInstanceIdentifier=f"{DB}-1", TagList=[{"Key": ENV_TAG, "Value": f"{ENV}-1"}]
    )
    with Stubs(*SERVICES) as stubs:
        expect_inventory(
            stubs,
            tagged=[],
            instances={DB: None, f"{DB}-1": stranger},
            cluster=None,
            volumes=[],
            parameters=[],
        )
        assert resources.delete_environment(stubs.aws(), ENV, None) == []
        stubs.assert_all_used()


def test_a_cluster_whose_instance_is_still_creating_is_not_available() -> None:
    with Stubs("rds") as stubs:
        stubs["rds"].add_client_error(
            "describe_db_instances", "DBInstanceNotFound", expected_params={"DBInstanceIdentifier": DB}
        )
        stubs["rds"].add_response(
            "describe_db_clusters",
            {
                "DBClusters": [
                    {"DBClusterIdentifier": DB, "Status": "available", "Endpoint": "c.example", "Port": 5432}
                ]
            },
            {"DBClusterIdentifier": DB},
        )
        stubs["rds"].add_response(
            "describe_db_instances",
            {"DBInstances": [instance("creating", DBInstanceIdentifier=f"{DB}-1")]},
            {"Filters": [{"Name": "db-cluster-id", "Values": [DB]}]},
        )

        assert resources.database_status(stubs.aws(), ENV) == ("creating", "c.example:5432")
        stubs.assert_all_used()


def test_tags_that_rds_would_refuse_are_made_safe_and_s3_keeps_ten_with_the_environment_first() -> None:
    assert inventory.aws_tags({"stagetui.branch": "feat/Ünï $(rm -rf)#1"}) == {
        "stagetui.branch": "feat/Ünï __rm -rf__1"
    }
    many = {f"stagetui.k{index:02d}": "v" for index in range(12)} | {ENV_TAG: ENV}
    kept = inventory.s3_tags(many)
    assert list(kept) == [ENV_TAG, *(f"stagetui.k{index:02d}" for index in range(9))]
    assert inventory.s3_tagging({ENV_TAG: ENV, "stagetui.created": "2024-05-01T10:00:00+00:00"}) == (
        f"stagetui.env={ENV}&stagetui.created=2024-05-01T10%3A00%3A00%2B00%3A00"
    )
