"""Parsed store files kept in memory for as long as the file on disk is the one that was parsed.

Parsing is what a dashboard query costs at scale (100k samples are ~30 MB of JSON), and most of the files
never change once written (a full history chunk is never rewritten). Every store write replaces a file by
rename (atomic.py), so a changed file has a new inode and, for history, a larger size; a file is re-read
when its (device, inode, size, mtime) differ from the ones it was parsed with, so a write by another
process is seen on the next read. An inode is only reused once the file parsed is gone, so mistaking a new
file for it takes another writer replacing it twice within one mtime tick at the same size. Callers hold
the store lock, under which no one else writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from stagetui.store.atomic import atomic_write_text
from stagetui.store.storage import StoreCorruptedError, parse_document

TABLE = "records"
"""The one TinyDB table every store file holds: {"records": {"1": {...}, "2": {...}}}."""
Records = dict[str, dict[str, Any]]
Identity = tuple[int, int, int, int]
T = TypeVar("T")
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # json.dumps builds one per call


@dataclass
class _Entry:
    identity: Identity
    document: dict[str, Records] | None
    derived: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    """doc id -> (record, its JSON) as last written: unchanged records are not serialized again."""


def _identity(stat: os.stat_result) -> Identity:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _parse(path: Path, text: str) -> dict[str, Records]:
    document = parse_document(path, text)
    if not isinstance(document.get(TABLE, {}), dict):
        raise StoreCorruptedError(f"{path}: store file does not hold a TinyDB document")
    return document


def _key(doc_id: str) -> str:
    return f'"{doc_id}"' if doc_id.isdigit() else json.dumps(doc_id)  # TinyDB's ids are integers


def _texts(
    records: Records, known: dict[str, tuple[dict[str, Any], str]]
) -> dict[str, tuple[dict[str, Any], str]]:
    """Each record's JSON, reused when the record is the very object serialized last time (records are
    never changed in place: a change is a new dict)."""
    texts = {}
    for doc_id, record in records.items():
        seen = known.get(doc_id)
        if seen is not None and seen[0] is record:
            texts[doc_id] = seen
        else:
            texts[doc_id] = (record, _ENCODER.encode(record))
    return texts


class FileCache:
    def __init__(self) -> None:
        self._entries: dict[Path, _Entry] = {}

    def records(self, path: Path) -> Records:
        """The records of `path` (empty when it does not exist). Shared: callers must not mutate them."""
        return self._document(path).get(TABLE, {})

    def derived(self, path: Path, name: str, build: Callable[[Records], T], keep_records: bool = True) -> T:
        """`build(records)`, computed once per version of the file. keep_records=False frees the parsed
        records once built (they are read again only when the file is next rewritten)."""
        entry = self._current(path)
        if entry is not None and name in entry.derived:
            return entry.derived[name]  # type: ignore[no-any-return]
        records = self.records(path)
        entry = self._entries.get(path)
        value = build(records)
        if entry is not None:
            entry.derived[name] = value
            if not keep_records:
                entry.document, entry.texts = None, {}
        return value

    def peek(self, path: Path, name: str) -> Any | None:
        """The derived value `name` of the current version of `path` if it was built, else None."""
        entry = self._current(path)
        return entry.derived.get(name) if entry is not None else None

    def write(self, path: Path, records: Records, derived: dict[str, Any] | None = None) -> None:
        """Replace `path` atomically with `records` (TinyDB's layout) and remember them as parsed, with
        `derived` values the caller updated alongside (so they need not be rebuilt from scratch)."""
        # Kept in the order of the file (sort_keys), so this process lists records as a fresh read would.
        records = {doc_id: records[doc_id] for doc_id in sorted(records)}
        document = {**(self._document(path) if path.exists() else {}), TABLE: records}
        previous = self._entries.get(path)
        if previous is not None and len(document) == 1:  # a rewrite: most records are as last written
            texts = _texts(records, previous.texts)
            body = ",".join(f"{_key(doc_id)}:{encoded}" for doc_id, (_, encoded) in texts.items())
            text = f'{{"{TABLE}":{{{body}}}}}'  # the bytes json.dumps(document, sort_keys=True) gives
        else:  # a new file (a bulk of new chunks): one call of the C encoder is fastest
            texts = {}
            text = json.dumps(document, separators=(",", ":"), sort_keys=True)
        atomic_write_text(path, text)
        self._entries[path] = _Entry(_identity(path.stat()), document, dict(derived or {}), texts)

    def forget(self, path: Path) -> None:
        self._entries.pop(path, None)

    def _current(self, path: Path) -> _Entry | None:
        entry = self._entries.get(path)
        if entry is None:
            return None
        try:
            identity: Identity | None = _identity(path.stat())
        except FileNotFoundError:
            identity = None
        if identity != entry.identity:
            del self._entries[path]
            return None
        return entry

    def _document(self, path: Path) -> dict[str, Records]:
        entry = self._current(path)
        if entry is not None and entry.document is not None:
            return entry.document
        try:
            with path.open("rb") as handle:  # stat and read the same file, whatever replaces it meanwhile
                identity = _identity(os.fstat(handle.fileno()))
                text = handle.read().decode("utf-8")
        except FileNotFoundError:
            self._entries.pop(path, None)
            return {}
        document = _parse(path, text)
        if entry is not None and entry.identity == identity:
            entry.document = document  # records freed after deriving, needed again to rewrite the file
        else:
            self._entries[path] = _Entry(identity, document)
        return document
