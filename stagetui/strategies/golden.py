"""Building golden copies: copy production, mask, verify, check integrity, capture the config, seal, publish.

A golden copy is refreshed incrementally when it can be (only the rows changed in production since its
newest change, masked with the same rules, into a clone of it) and in full otherwise. Used by the
snapshot strategy (refresh on schedule), the full clone on PostgreSQL (catch up before every clone), and
`stagetui refresh`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from stagetui.data.engine import DataEngine, DataEngineError, DataLocation, IncrementalRefreshUnsafe
from stagetui.data.golden_store import BUILD_DATABASE_FILE, DATABASE_FILE, GoldenSnapshot, GoldenStore
from stagetui.data.production import ProductionSource
from stagetui.domain.anonymize import ColumnRule, Masker, rules_fingerprint
from stagetui.domain.integrity import IntegrityReport
from stagetui.domain.secrets import redact_tree
from stagetui.sources.files import load_tree, write_json_tree
from stagetui.store.atomic import atomic_write_text
from stagetui.strategies.rule_coverage import check_rules_cover

ProgressFn = Callable[[float, str], None]
DatabaseNamer = Callable[[str], str]
"""Snapshot id -> the name of its database on the server (PostgreSQL)."""


class MaskingLeakError(RuntimeError):
    """Verification found original values after masking: the snapshot is not published."""


@dataclass(frozen=True)
class GoldenSource:
    """What golden copies are made from, and how."""

    production: ProductionSource
    engine: DataEngine
    rules: Sequence[ColumnRule]
    masker: Masker
    clock: Callable[[], datetime]
    server_dsn: str | None = None
    """PostgreSQL: the server the golden databases are created on."""
    database_name: DatabaseNamer | None = None
    change_column: str = "updated_at"
    incremental: bool = True
    strict: bool = True
    """Refuse sensitive tables with columns that have no rule (see check_rules_cover)."""


@dataclass(frozen=True)
class RefreshResult:
    snapshot: GoldenSnapshot
    refreshed: bool
    reason: str
    pruned: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    fallback: str | None = None
    """Why an incremental refresh was not possible, when a full one was made instead."""


def stale_reason(
    latest: GoldenSnapshot | None,
    source: GoldenSource,
    now: datetime,
    refresh_after: timedelta | None,
    production_newest: datetime | None = None,
) -> str | None:
    """Why `latest` must be refreshed, or None. With `production_newest`, any newer change makes it stale
    (the full clone's golden copy follows production); otherwise age does (`refresh_after`)."""
    if latest is None:
        return "no golden copy yet"
    if latest.rules_fingerprint != rules_fingerprint(source.rules):
        return "masking rules changed"
    if latest.engine != source.engine.name:
        return f"production moved to {source.engine.name}"
    if production_newest is not None and (
        latest.newest_change is None or production_newest > latest.newest_change
    ):
        return "production changed since"
    if refresh_after is not None and latest.age(now) > refresh_after:
        return f"older than {refresh_after}"
    return None


def refresh_golden(
    store: GoldenStore,
    source: GoldenSource,
    *,
    refresh_after: timedelta | None,
    keep: int,
    follow_production: bool = False,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> RefreshResult:
    """Return the latest golden copy, building a new one first when it is missing, stale or `force`d."""
    with store.lock.hold():
        latest = store.latest()
        newest = (
            source.engine.newest(source.production.data, source.change_column) if follow_production else None
        )
        reason = "forced" if force else stale_reason(latest, source, source.clock(), refresh_after, newest)
        if reason is None and latest is not None:
            return RefreshResult(latest, False, f"fresh (taken {latest.taken_at:%Y-%m-%d %H:%M} UTC)")
        fallback = None
        snapshot = None
        if latest is not None and not force and source.incremental and _can_follow(latest, source):
            try:
                snapshot = _build(store, source, progress, previous=latest)
            except DataEngineError as failed:
                # Unsafe (a schema change) or failed on the way (a UNIQUE value reused in production after
                # its row was deleted): nothing of it is kept, and a full refresh gives the right copy.
                fallback = str(failed)
        if snapshot is None:
            snapshot = _build(store, source, progress, previous=None)
        pruned = store.prune(keep)
        for name in pruned.databases:
            _drop_quietly(source, name)
    return RefreshResult(snapshot, True, reason or "forced", pruned.snapshots, pruned.databases, fallback)


def _can_follow(latest: GoldenSnapshot, source: GoldenSource) -> bool:
    return (
        latest.newest_change is not None
        and latest.engine == source.engine.name
        and latest.rules_fingerprint == rules_fingerprint(source.rules)
    )


def _drop_quietly(source: GoldenSource, name: str) -> None:
    if source.server_dsn is not None:
        source.engine.drop(DataLocation.postgres(source.server_dsn, name))


def _build(
    store: GoldenStore, source: GoldenSource, progress: ProgressFn | None, previous: GoldenSnapshot | None
) -> GoldenSnapshot:
    def part(start: float, end: float) -> ProgressFn:
        return lambda fraction, message: (
            progress(start + (end - start) * fraction, message) if progress else None
        )

    engine, production = source.engine, source.production
    check_rules_cover(engine, production.data, source.rules, strict=source.strict)
    started = time.monotonic()
    taken_at = source.clock()
    snapshot_id = taken_at.strftime("%Y%m%dT%H%M%S%fZ")
    build = store.new_build_directory()
    target = _target(source, build, snapshot_id)
    try:
        if previous is None:
            engine.full_copy(production.data, target, part(0.0, 0.35))
            newest = engine.newest(target, source.change_column)
            masking = engine.mask(target, source.rules, source.masker, part(0.35, 0.8)).summary()
        else:
            engine.clone(previous.location(source.server_dsn), target)
            if previous.newest_change is None:
                raise IncrementalRefreshUnsafe(f"golden {previous.id} has no change time to start from")
            changes = engine.apply_changes(
                target,
                production.data,
                previous.newest_change,
                source.rules,
                source.masker,
                source.change_column,
                part(0.0, 0.8),
            )
            newest, masking = changes.as_of, f"incremental from {previous.id}: {changes.summary()}"
        verification = engine.verify_masking(target, production.data, source.rules)
        if not verification.ok:
            raise MaskingLeakError(verification.summary())
        integrity = engine.integrity(target, engine.foreign_keys(production.data))
        # The captured production config keeps no secrets: environments get their own values anyway.
        write_json_tree(redact_tree(load_tree(production.config)), build / "production_config.json")
        snapshot = GoldenSnapshot(
            id=snapshot_id,
            directory=build,
            taken_at=taken_at,
            source=production.data.describe(),
            rules_fingerprint=rules_fingerprint(source.rules),
            row_counts=engine.row_counts(target),
            orphans=integrity.total_orphans,
            masking_summary=f"{masking}; {verification.summary()}",
            engine=engine.name,
            database_name=target.database,
            newest_change=newest,
            method="full" if previous is None else "incremental",
            parent=previous.id if previous else None,
            integrity=_orphans_by_key(integrity),
        )
        engine.seal_golden(target, _provenance(snapshot))
        snapshot = replace(snapshot, build_seconds=time.monotonic() - started)
        return store.publish(build, snapshot)
    except BaseException:
        if target.engine == "postgres":
            engine.drop(target)
        shutil.rmtree(build, ignore_errors=True)
        raise


def _target(source: GoldenSource, build: Path, snapshot_id: str) -> DataLocation:
    if source.engine.name == "postgres":
        if source.server_dsn is None or source.database_name is None:
            raise ValueError("golden copies on PostgreSQL need a server (data.postgres.dsn)")
        name = source.database_name(snapshot_id)
        atomic_write_text(build / BUILD_DATABASE_FILE, name + "\n")
        return DataLocation.postgres(source.server_dsn, name)
    return DataLocation.sqlite(build / DATABASE_FILE)


def _orphans_by_key(report: IntegrityReport) -> dict[str, int]:
    return {str(check.foreign_key): check.orphans for check in report.checked if check.orphans}


def _provenance(snapshot: GoldenSnapshot) -> dict[str, object]:
    """Recorded with the database itself: where it came from, as of when, masked by which rules."""
    return {
        "stagetui_golden": snapshot.id,
        "source": snapshot.source,
        "taken_at": snapshot.taken_at.isoformat(),
        "newest_change": snapshot.newest_change.isoformat() if snapshot.newest_change else None,
        "rules_fingerprint": snapshot.rules_fingerprint,
        "method": snapshot.method,
        "parent": snapshot.parent,
    }
