"""Building golden snapshots: copy production, mask, verify, check integrity, capture the config, publish.

Used by the snapshot strategy (refresh when stale) and by `stagetui snapshot refresh`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from stagetui.data.golden_store import DATABASE_FILE, GoldenSnapshot, GoldenStore
from stagetui.data.production import ProductionSource
from stagetui.data.sqlite_copy import backup_copy
from stagetui.data.sqlite_integrity import check_integrity
from stagetui.data.sqlite_masking import apply_masking, verify_masking
from stagetui.data.sqlite_schema import row_counts
from stagetui.domain.anonymize import ColumnRule, Masker, rules_fingerprint
from stagetui.domain.secrets import redact_tree
from stagetui.sources.files import load_tree, write_json_tree

ProgressFn = Callable[[float, str], None]


class MaskingLeakError(RuntimeError):
    """Verification found original values after masking: the snapshot is not published."""


@dataclass(frozen=True)
class RefreshResult:
    snapshot: GoldenSnapshot
    refreshed: bool
    reason: str
    pruned: tuple[str, ...] = ()


def _stale_reason(
    latest: GoldenSnapshot | None, fingerprint: str, now: datetime, refresh_after: timedelta
) -> str | None:
    if latest is None:
        return "no golden snapshot yet"
    if latest.rules_fingerprint != fingerprint:
        return "masking rules changed"
    if latest.age(now) > refresh_after:
        return f"older than {refresh_after}"
    return None


def refresh_golden(
    store: GoldenStore,
    production: ProductionSource,
    rules: Sequence[ColumnRule],
    masker: Masker,
    clock: Callable[[], datetime],
    *,
    refresh_after: timedelta,
    keep: int,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> RefreshResult:
    """Return the latest snapshot, building a new one first when it is missing, stale or `force`d."""
    fingerprint = rules_fingerprint(rules)
    with store.lock.hold():
        latest = store.latest()
        reason = "forced" if force else _stale_reason(latest, fingerprint, clock(), refresh_after)
        if reason is None and latest is not None:
            return RefreshResult(latest, False, f"fresh (taken {latest.taken_at:%Y-%m-%d %H:%M} UTC)")
        snapshot = _build(store, production, rules, masker, clock, fingerprint, progress)
        pruned = store.prune(keep)
    return RefreshResult(snapshot, True, reason or "forced", tuple(pruned))


def _build(
    store: GoldenStore,
    production: ProductionSource,
    rules: Sequence[ColumnRule],
    masker: Masker,
    clock: Callable[[], datetime],
    fingerprint: str,
    progress: ProgressFn | None,
) -> GoldenSnapshot:
    def part(start: float, end: float) -> ProgressFn:
        return lambda fraction, message: (
            progress(start + (end - start) * fraction, message) if progress else None
        )

    started = time.monotonic()
    build = store.new_build_directory()
    try:
        taken_at = clock()
        database = build / DATABASE_FILE
        backup_copy(production.database, database, part(0.0, 0.35))
        masking = apply_masking(database, rules, masker, part(0.35, 0.85))
        verification = verify_masking(database, production.database, rules)
        if not verification.ok:
            raise MaskingLeakError(verification.summary())
        integrity = check_integrity(database)
        # The captured production config keeps no secrets: environments get their own values anyway.
        snapshot_config = redact_tree(load_tree(production.config))
        write_json_tree(snapshot_config, build / "production_config.json")
        snapshot = GoldenSnapshot(
            id=taken_at.strftime("%Y%m%dT%H%M%S%fZ"),
            directory=build,
            taken_at=taken_at,
            source=str(production.database),
            rules_fingerprint=fingerprint,
            row_counts=row_counts(database),
            orphans=integrity.total_orphans,
            masking_summary=f"{masking.summary()}; {verification.summary()}",
            build_seconds=time.monotonic() - started,
        )
        return store.publish(build, snapshot)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
