"""Append-heavy history (steps, metrics, checks, audit) in monthly partitions of bounded chunks.

TinyDB rewrites a whole file to add one record, so appending to a month of 100k samples rewrote ~30 MB
per environment provisioned. A month is split into chunks of at most CHUNK_RECORDS records: an append
rewrites only the last chunk, and full chunks are never written again (so their parsed form stays cached).
Chunk 0 keeps the name older stagetui versions wrote (`metrics-2026-11.json`), later ones sort after it
(`metrics-2026-11.part0001.json`), so an existing store needs no migration and an older reader, which
compares names against `metrics-2026-11.json`, still reads every chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stagetui.store.files import FileCache, Records

CHUNK_RECORDS = 2000
"""Bounds what one append rewrites (~0.5 MB of samples) while keeping the number of files small."""
_NAME = re.compile(r"^(?P<kind>[a-z]+)-(?P<month>\d{4}-\d{2})(?:\.part(?P<part>\d{4,}))?\.json$")


@dataclass(frozen=True, order=True)
class Chunk:
    month: str
    part: int
    path: Path


def month_of(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"  # strftime cost a third of a bulk's grouping


def chunk_path(directory: Path, kind: str, month: str, part: int) -> Path:
    suffix = f".part{part:04d}" if part else ""
    return directory / f"{kind}-{month}{suffix}.json"


def chunks(directory: Path, kind: str, since: datetime | None = None, month: str = "") -> list[Chunk]:
    """The chunks of `kind` (of one `month` if given), oldest month first and in write order, from the
    month of `since` on."""
    first = month_of(since) if since else ""
    found = []
    for path in directory.glob(f"{kind}-{month}*.json"):
        match = _NAME.match(path.name)
        if match and match["kind"] == kind and match["month"] >= first:
            found.append(Chunk(match["month"], int(match["part"] or 0), path))
    return sorted(found)


def append(files: FileCache, directory: Path, kind: str, month: str, batch: list[dict[str, Any]]) -> None:
    """Add `batch` to the month's last chunk, opening new chunks as each fills up."""
    existing = [c for c in chunks(directory, kind, month=month) if c.month == month]
    part = existing[-1].part if existing else 0
    while batch:
        path = chunk_path(directory, kind, month, part)
        records = files.records(path)
        room = CHUNK_RECORDS - len(records)
        if room <= 0:
            part += 1
            continue
        files.write(path, extended(records, batch[:room]))
        batch = batch[room:]


def extended(records: Records, batch: list[dict[str, Any]]) -> Records:
    """A copy of `records` with `batch` added under TinyDB's next document ids (the cached dict stays as
    it is on disk until the write succeeds)."""
    next_id = max(map(int, records), default=0) + 1
    return {**records, **{str(next_id + i): record for i, record in enumerate(batch)}}
