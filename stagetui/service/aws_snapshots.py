"""Snapshot sets on AWS, for `stagetui snapshot refresh|ls --runtime aws` (cron-friendly: a fresh set is
left alone, and two refreshes at once on one machine take one set)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from stagetui.runtimes.aws.runtime import AwsRuntime
from stagetui.runtimes.aws.snapshot_sets import SnapshotSet
from stagetui.runtimes.base import RuntimeOperationError
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError, OperationFailedError


@dataclass(frozen=True)
class SetRefresh:
    snapshot_set: SnapshotSet
    detail: str
    refreshed: bool


def aws_runtime(core: ServiceCore) -> AwsRuntime:
    runtime = core.runtime("aws")
    if not isinstance(runtime, AwsRuntime):
        raise BadInputError("the aws runtime is not available")
    return runtime


def snapshot_sets(core: ServiceCore) -> list[SnapshotSet]:
    try:
        return aws_runtime(core).snapshot_sets()
    except RuntimeOperationError as error:
        raise OperationFailedError(f"listing snapshot sets: {error}") from None


async def refresh(
    core: ServiceCore, *, force: bool = False, progress: Callable[[float, str], None] | None = None
) -> SetRefresh:
    runtime = aws_runtime(core)
    refresh_after = core.config.strategies.snapshot.refresh_after
    try:
        taken, detail, new = await asyncio.to_thread(
            runtime.ensure_snapshot_set, core.clock(), refresh_after, force=force, progress=progress
        )
    except RuntimeOperationError as error:
        raise OperationFailedError(f"refreshing the snapshot set: {error}") from None
    if new:
        core.audit("snapshot", taken.id, detail)
    return SetRefresh(taken, detail, new)
