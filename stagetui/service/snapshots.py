"""`snapshot refresh` and `snapshot ls`: the golden copies the snapshot strategy restores from."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from stagetui.data.golden_store import GoldenSnapshot
from stagetui.data.production import ensure_production
from stagetui.domain.anonymize import Masker
from stagetui.service.core import ServiceCore
from stagetui.strategies.golden import RefreshResult, refresh_golden
from stagetui.strategies.provision import mask_rules

ProgressFn = Callable[[float, str], None]


async def refresh_snapshot(
    core: ServiceCore, *, force: bool = False, progress: ProgressFn | None = None
) -> RefreshResult:
    key = core.mask_key()
    settings = core.config.strategies.snapshot
    production = core.production()

    def work() -> RefreshResult:
        ensure_production(production, progress)
        return refresh_golden(
            core.golden,
            production,
            mask_rules(core.config),
            Masker(key),
            core.clock,
            refresh_after=settings.refresh_after,
            keep=settings.keep,
            force=force,
            progress=progress,
        )

    result = await asyncio.to_thread(work)
    if result.refreshed:
        core.audit(
            "snapshot", result.snapshot.id, f"refreshed ({result.reason}): {result.snapshot.masking_summary}"
        )
    return result


def list_snapshots(core: ServiceCore) -> list[GoldenSnapshot]:
    return core.golden.snapshots()
