"""AWS failures become errors that say what was being done and what to do about it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, WaiterError

from stagetui.runtimes.aws.errors import AwsAccessError, aws_errors
from stagetui.runtimes.base import RuntimeOperationError


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


@pytest.mark.parametrize(
    ("raised", "kind", "expected"),
    [
        (
            client_error("DBSnapshotNotFound", "DBSnapshot stagetui-set-1 not found."),
            RuntimeOperationError,
            "restoring x: DBSnapshotNotFound: DBSnapshot stagetui-set-1 not found. "
            "(the snapshot is gone: run `stagetui snapshot refresh` to take a new set)",
        ),
        (
            client_error("SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots"),
            RuntimeOperationError,
            "restoring x: SnapshotQuotaExceeded: Cannot create more than 100 manual snapshots (the account's "
            "snapshot quota is reached: delete old snapshots or lower keep_sets)",
        ),
        (
            client_error("AccessDenied", "User is not authorized to perform rds:Restore"),
            AwsAccessError,
            "restoring x: AccessDenied: User is not authorized to perform rds:Restore "
            "(the credentials lack a permission this needs)",
        ),
        (
            client_error("SomethingNew", "surprise"),
            RuntimeOperationError,
            "restoring x: SomethingNew: surprise",
        ),
        (
            NoCredentialsError(),
            AwsAccessError,
            "restoring x: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "runtimes.aws.profile, or an instance role)",
        ),
        (
            WaiterError("DBInstanceAvailable", "Max attempts exceeded", {}),
            RuntimeOperationError,
            "restoring x: gave up waiting (Max attempts exceeded); runtimes.aws.waiter_timeout sets how long "
            "to wait",
        ),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            RuntimeOperationError,
            'restoring x: AWS endpoint unreachable (Could not connect to the endpoint URL: "http://127.0.0.1:1")',
        ),
    ],
)
def test_errors_name_the_operation_and_the_way_out(
    raised: Exception, kind: type[Exception], expected: str
) -> None:
    with pytest.raises(RuntimeOperationError) as caught, aws_errors("restoring x"):
        raise raised
    assert type(caught.value) is kind
    assert str(caught.value) == expected
