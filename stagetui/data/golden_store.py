"""Golden snapshots on disk: anonymized, verified point-in-time copies of production that environments are
restored from. A snapshot is published by renaming a finished directory, so a half-built one is never used."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from stagetui.data.engine import DataLocation
from stagetui.store.atomic import atomic_write_text
from stagetui.store.lock import StateLock
from stagetui.store.private import DIRECTORY_MODE, make_private_directory

META_FILE = "snapshot.json"
DATABASE_FILE = "golden.db"
CONFIG_FILE = "production_config.json"
BUILD_DATABASE_FILE = "database_name"
"""In a build directory: the server database the build creates, so an abandoned one can be dropped."""


@dataclass(frozen=True)
class GoldenSnapshot:
    id: str
    directory: Path
    taken_at: datetime
    """As-of time of the data: when the copy of production was taken."""
    source: str
    rules_fingerprint: str
    row_counts: dict[str, int] = field(default_factory=dict)
    orphans: int = 0
    masking_summary: str = ""
    build_seconds: float = 0.0
    engine: str = "sqlite"
    database_name: str | None = None
    """PostgreSQL: the golden database on the server (a template, closed to connections)."""
    newest_change: datetime | None = None
    """The newest change time (e.g. max updated_at) in the copy: where an incremental refresh starts."""
    method: str = "full"
    """How it was built: "full" (a copy of all of production) or "incremental" (from `parent`)."""
    parent: str | None = None
    integrity: dict[str, int] = field(default_factory=dict)
    """Orphans per foreign key (only those with orphans)."""

    @property
    def database(self) -> Path:
        return self.directory / DATABASE_FILE

    def location(self, server_dsn: str | None) -> DataLocation:
        """Where its data is: the file in its directory, or its database on the PostgreSQL server."""
        if self.engine == "postgres":
            if server_dsn is None or self.database_name is None:
                raise ValueError(f"golden {self.id} is on PostgreSQL but no server is configured")
            return DataLocation.postgres(server_dsn, self.database_name)
        return DataLocation.sqlite(self.database)

    @property
    def config_file(self) -> Path:
        return self.directory / CONFIG_FILE

    def age(self, now: datetime) -> timedelta:
        return now - self.taken_at

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["directory"] = str(self.directory)
        data["taken_at"] = self.taken_at.isoformat()
        data["newest_change"] = self.newest_change.isoformat() if self.newest_change else None
        return data


class GoldenStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        # Held while building, publishing, pruning and restoring: a restore never copies a snapshot that a
        # concurrent refresh is deleting, and two refreshes never build the same thing twice.
        self.lock = StateLock(root / "golden.lock", timeout=1800)

    def snapshots(self) -> list[GoldenSnapshot]:
        """Published snapshots, newest first."""
        found = []
        for meta in self.root.glob(f"*/{META_FILE}") if self.root.is_dir() else []:
            try:
                found.append(_from_meta(meta))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # unreadable metadata: not a usable snapshot
        return sorted(found, key=lambda s: s.taken_at, reverse=True)

    def latest(self) -> GoldenSnapshot | None:
        snapshots = self.snapshots()
        return snapshots[0] if snapshots else None

    def new_build_directory(self) -> Path:
        directory = self.root / f".building-{uuid.uuid4().hex[:12]}"
        make_private_directory(self.root)
        directory.mkdir(mode=DIRECTORY_MODE)
        return directory

    def publish(self, build_directory: Path, snapshot: GoldenSnapshot) -> GoldenSnapshot:
        """Write the metadata last, then move the finished directory into place."""
        final = self.root / snapshot.id
        published = GoldenSnapshot(**{**asdict(snapshot), "directory": final})
        atomic_write_text(build_directory / META_FILE, json.dumps(published.to_dict(), indent=2))
        build_directory.rename(final)
        return published

    def prune(self, keep: int) -> Pruned:
        """Forget all but the newest `keep` snapshots and delete their directories, and builds abandoned by
        a crash. The caller drops the server databases named in the result."""
        removed = self.snapshots()[keep:]
        for snapshot in removed:
            shutil.rmtree(snapshot.directory, ignore_errors=True)
        abandoned = []
        for leftover in self.root.glob(".building-*"):
            marker = leftover / BUILD_DATABASE_FILE
            if marker.is_file():
                abandoned.append(marker.read_text(encoding="utf-8").strip())
            shutil.rmtree(leftover, ignore_errors=True)
        databases = [s.database_name for s in removed if s.database_name] + abandoned
        return Pruned(tuple(s.id for s in removed), tuple(databases))

    def referenced_databases(self) -> set[str]:
        """Server databases that published snapshots and builds in progress use."""
        names = {s.database_name for s in self.snapshots() if s.database_name}
        for marker in self.root.glob(f".building-*/{BUILD_DATABASE_FILE}"):
            names.add(marker.read_text(encoding="utf-8").strip())
        return names


@dataclass(frozen=True)
class Pruned:
    snapshots: tuple[str, ...]
    databases: tuple[str, ...]
    """Server databases to drop: of the forgotten snapshots, and of builds a crash abandoned."""


def _from_meta(meta: Path) -> GoldenSnapshot:
    data = json.loads(meta.read_text(encoding="utf-8"))
    return GoldenSnapshot(
        id=data["id"],
        directory=meta.parent,
        taken_at=datetime.fromisoformat(data["taken_at"]),
        source=data["source"],
        rules_fingerprint=data["rules_fingerprint"],
        row_counts=dict(data.get("row_counts", {})),
        orphans=int(data.get("orphans", 0)),
        masking_summary=data.get("masking_summary", ""),
        build_seconds=float(data.get("build_seconds", 0.0)),
        engine=str(data.get("engine", "sqlite")),
        database_name=data.get("database_name"),
        newest_change=datetime.fromisoformat(data["newest_change"]) if data.get("newest_change") else None,
        method=str(data.get("method", "full")),
        parent=data.get("parent"),
        integrity={str(k): int(v) for k, v in data.get("integrity", {}).items()},
    )
