"""Errors the service reports to its faces, each with the exit code the CLI gives it."""

from __future__ import annotations


class ServiceError(Exception):
    exit_code = 1


class BadInputError(ServiceError):
    """The request itself is wrong (unknown strategy, bad branch, bad config); nothing was created."""

    exit_code = 2


class NotFoundError(ServiceError):
    exit_code = 3


class ConflictError(ServiceError):
    """The request clashes with what exists (an environment with that id is live, an ambiguous reference)."""

    exit_code = 4


class OperationFailedError(ServiceError):
    """The work was attempted and failed (provisioning rolled back, teardown incomplete)."""

    exit_code = 1
