"""Golden snapshots on disk: anonymized, verified point-in-time copies of production that environments are
restored from. A snapshot is published by renaming a finished directory, so a half-built one is never used."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from stagetui.store.atomic import atomic_write_text
from stagetui.store.lock import StateLock

META_FILE = "snapshot.json"
DATABASE_FILE = "golden.db"
CONFIG_FILE = "production_config.json"


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

    @property
    def database(self) -> Path:
        return self.directory / DATABASE_FILE

    @property
    def config_file(self) -> Path:
        return self.directory / CONFIG_FILE

    def age(self, now: datetime) -> timedelta:
        return now - self.taken_at

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["directory"] = str(self.directory)
        data["taken_at"] = self.taken_at.isoformat()
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
        directory.mkdir(parents=True)
        return directory

    def publish(self, build_directory: Path, snapshot: GoldenSnapshot) -> GoldenSnapshot:
        """Write the metadata last, then move the finished directory into place."""
        final = self.root / snapshot.id
        published = GoldenSnapshot(**{**asdict(snapshot), "directory": final})
        atomic_write_text(build_directory / META_FILE, json.dumps(published.to_dict(), indent=2))
        build_directory.rename(final)
        return published

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest `keep` snapshots, and builds abandoned by a crash."""
        removed = []
        for snapshot in self.snapshots()[keep:]:
            shutil.rmtree(snapshot.directory, ignore_errors=True)
            removed.append(snapshot.id)
        for leftover in self.root.glob(".building-*"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover.name)
        return removed


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
    )
