"""`refresh` and `snapshot ls`: the golden copies environments are restored or cloned from."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from stagetui.data.engine import DataEngineError
from stagetui.data.golden_store import GoldenSnapshot, GoldenStore
from stagetui.data.production import ProductionMissingError, ensure_production
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError, OperationFailedError
from stagetui.strategies.full_clone import KEEP_FULL_GOLDEN
from stagetui.strategies.golden import MaskingLeakError, RefreshResult, refresh_golden
from stagetui.strategies.rule_coverage import check_rules_cover

ProgressFn = Callable[[float, str], None]


def golden_kinds(core: ServiceCore) -> list[str]:
    """The snapshot strategy's golden copy always; the full clone's on PostgreSQL."""
    return ["snapshot", "full"] if core.engine.name == "postgres" else ["snapshot"]


def store_of(core: ServiceCore, kind: str) -> GoldenStore:
    return core.full_golden if kind == "full" else core.golden


async def refresh_snapshot(
    core: ServiceCore, *, kind: str = "snapshot", force: bool = False, progress: ProgressFn | None = None
) -> RefreshResult:
    """Refresh one golden copy if stale (or `force`d): the snapshot's by age, the full clone's whenever
    production changed. Safe to run twice at once: the second waits for the first and finds it fresh."""
    key = core.mask_key()
    settings = core.config.strategies.snapshot
    source = core.golden_source(kind, key)

    def work() -> RefreshResult:
        ensure_production(source.production, core.engine, progress)
        check_rules_cover(core.engine, source.production.data, source.rules, strict=source.strict)
        if kind == "full":
            return refresh_golden(
                core.full_golden,
                source,
                refresh_after=None,
                keep=KEEP_FULL_GOLDEN,
                follow_production=True,
                force=force,
                progress=progress,
            )
        return refresh_golden(
            core.golden,
            source,
            refresh_after=settings.refresh_after,
            keep=settings.keep,
            force=force,
            progress=progress,
        )

    try:
        result = await asyncio.to_thread(work)
    except (ValueError, ProductionMissingError) as error:
        raise BadInputError(str(error)) from None
    except (DataEngineError, MaskingLeakError) as error:
        raise OperationFailedError(f"refreshing the {kind} golden copy failed: {error}") from None
    if result.refreshed:
        how = result.snapshot.method + (f" ({result.fallback})" if result.fallback else "")
        core.audit("read", source.production.data.describe(), f"golden {result.snapshot.id} refreshed, {how}")
        core.audit(
            "snapshot", result.snapshot.id, f"refreshed ({result.reason}): {result.snapshot.masking_summary}"
        )
    return result


def list_snapshots(core: ServiceCore) -> list[GoldenSnapshot]:
    return [s for kind in golden_kinds(core) for s in store_of(core, kind).snapshots()]
