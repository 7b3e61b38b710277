"""AWS failures as errors a user can act on: what was being done, and what to do about it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from stagetui.runtimes.base import RuntimeOperationError


class AwsAccessError(RuntimeOperationError):
    """Credentials missing or refused: nothing on AWS can be listed or changed with them."""


_PERMISSION = "the credentials lack a permission this needs"
_GONE = "the snapshot is gone: run `stagetui snapshot refresh` to take a new set"
_SNAPSHOT_QUOTA = "the account's snapshot quota is reached: delete old snapshots or lower keep_sets"
_THROTTLED = "AWS kept throttling after every retry: raise max_attempts or use retry_mode adaptive"
_FAILING = "AWS kept failing on its side after every retry: try again later, or raise max_attempts"
_RETRIED_STATUSES = {500, 502, 503, 504}  # what botocore retries as transient, whatever the error code
_HINTS = {
    "AccessDenied": _PERMISSION,
    "AccessDeniedException": _PERMISSION,
    "UnauthorizedOperation": _PERMISSION,
    "DBSnapshotNotFound": _GONE,
    "DBClusterSnapshotNotFoundFault": _GONE,
    "InvalidSnapshot.NotFound": _GONE,
    "DBInstanceNotFound": "no such RDS instance: check runtimes.aws.production.rds_instance",
    "DBClusterNotFoundFault": "no such Aurora cluster: check runtimes.aws.production.rds_cluster",
    "InvalidVolume.NotFound": "no such EBS volume: check runtimes.aws.production.ebs_volumes",
    "NoSuchBucket": "no such bucket: check runtimes.aws.production.s3_seed",
    "SnapshotQuotaExceeded": _SNAPSHOT_QUOTA,
    "SnapshotLimitExceeded": _SNAPSHOT_QUOTA,
    "InstanceQuotaExceeded": "the account's RDS instance quota is reached: tear environments down first",
    "VolumeLimitExceeded": "the account's EBS volume quota is reached: tear environments down first",
    "ParameterLimitExceeded": "the account's SSM parameter quota is reached",
    "Throttling": _THROTTLED,
    "ThrottlingException": _THROTTLED,
    "RequestLimitExceeded": _THROTTLED,
    "SlowDown": _THROTTLED,  # S3's throttling
    "TooManyRequestsException": _THROTTLED,
}
_ACCESS = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId"}


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Re-raise what botocore throws as RuntimeOperationError naming the operation and the way out."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        WaiterError,
    )

    try:
        yield
    except NoCredentialsError:
        raise AwsAccessError(
            f"{doing}: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "runtimes.aws.profile, or an instance role)"
        ) from None
    except NoRegionError:
        raise AwsAccessError(
            f"{doing}: no AWS region (set runtimes.aws.region or AWS_DEFAULT_REGION)"
        ) from None
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", "")).strip()
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        hint = _HINTS.get(code) or (_FAILING if status in _RETRIED_STATUSES else None)
        text = f"{doing}: {code}: {message}" + (f" ({hint})" if hint else "")
        raise (AwsAccessError if code in _ACCESS else RuntimeOperationError)(text) from None
    except WaiterError as error:
        # The reason lives in the error's format arguments: WaiterError has no attribute of its own for it.
        reason = str(error.kwargs.get("reason", "")) or str(error)
        last = error.last_response if isinstance(error.last_response, dict) else {}
        detail = str(last.get("Error", {}).get("Message", ""))
        raise RuntimeOperationError(
            f"{doing}: gave up waiting ({reason}{': ' + detail if detail else ''}); "
            "runtimes.aws.waiter_timeout sets how long to wait"
        ) from None
    except EndpointConnectionError as error:
        raise RuntimeOperationError(f"{doing}: AWS endpoint unreachable ({error})") from None
    except BotoCoreError as error:
        raise RuntimeOperationError(f"{doing}: {error}") from None
