"""The local store: environments and their history in TinyDB files.

Writes are atomic (see atomic.py) and serialized across processes by one lock. TinyDB rewrites a whole
file on every insert, so append-heavy history (steps, metrics, checks, audit) is partitioned by month into
bounded chunks (history.py) and written in batches, and environments live in one small file. Parsed files
are kept in memory while unchanged on disk (files.py): dashboards re-read the same history every refresh.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from tinydb import Query, TinyDB

from stagetui.domain.models import AuditEntry, CheckRecord, Environment, MetricSample, StepRecord
from stagetui.store import history, records, sample_index
from stagetui.store.atomic import atomic_write_text
from stagetui.store.files import FileCache, Records
from stagetui.store.lock import StateLock
from stagetui.store.storage import AtomicJSONStorage, StoreCorruptedError

SCHEMA_VERSION = 1
_TABLE = "records"
T = TypeVar("T")


class StoreVersionError(RuntimeError):
    """The store was written by a newer stagetui."""


class Collection:
    def __init__(self, store: Store, path: Path, key: str) -> None:
        self.store, self.path, self.key = store, path, key

    def put(self, record: dict[str, Any]) -> None:
        with self.store.table(self.path) as table:
            table.upsert(record, Query()[self.key] == record[self.key])

    def get(self, key: str) -> dict[str, Any] | None:
        with self.store.table(self.path) as table:
            found = table.get(Query()[self.key] == key)
        return dict(found) if found else None

    def all(self) -> list[dict[str, Any]]:
        with self.store.table(self.path) as table:
            return [dict(record) for record in table.all()]

    def delete(self, key: str) -> bool:
        with self.store.table(self.path) as table:
            return bool(table.remove(Query()[self.key] == key))


class Store:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = StateLock(directory / "store.lock")
        self.files = FileCache()
        with self.lock.hold():
            self._check_schema()

    # --- environments -------------------------------------------------------------------------------
    def save_environment(self, env: Environment) -> None:
        path = self.directory / "environments.json"
        with self.lock.hold():
            current, uids = self.files.records(path), self._environments()
            record = records.environment_to_record(env)
            if env.uid in uids:  # an upsert, as TinyDB's: every document with that uid takes the new fields
                changed = {doc_id: {**current[doc_id], **record} for doc_id in uids[env.uid]}
            else:
                changed = {str(max(map(int, current), default=0) + 1): record}
                uids = {**uids, env.uid: list(changed)}
            carried: dict[str, Any] = {"uids": uids}
            converted = self.files.peek(path, "environments")
            if converted is not None:  # the others' conversions stay valid in the new version of the file
                fresh = {doc_id: records.environment_from_record(r) for doc_id, r in changed.items()}
                carried["environments"] = {**converted, **fresh}
            self.files.write(path, {**current, **changed}, carried)

    def environments(self) -> list[Environment]:
        path = self.directory / "environments.json"
        with self.lock.hold():
            order, converted = self.files.records(path), self._converted_environments()
        return [_detached(converted[doc_id]) for doc_id in order]

    def environment(self, uid: str) -> Environment | None:
        with self.lock.hold():
            found = self._environments().get(uid)
            return _detached(self._converted_environments()[found[0]]) if found else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock across a read-check-write sequence (e.g. 'no live environment with this id')."""
        with self.lock.hold():
            yield

    # --- history, partitioned by month --------------------------------------------------------------
    def add_steps(self, steps: Iterable[StepRecord]) -> None:
        self._append("steps", [(s.started_at, records.step_to_record(s)) for s in steps])

    def steps(self, environment_uid: str, since: datetime | None = None) -> list[StepRecord]:
        found = self._scan("steps", since, lambda r: r["environment_uid"] == environment_uid)
        return sorted((records.step_from_record(r) for r in found), key=lambda s: (s.started_at, s.name))

    def add_metrics(self, samples: Iterable[MetricSample]) -> None:
        self._append("metrics", [(s.at, records.metric_to_record(s)) for s in samples])

    def metrics(self, since: datetime | None = None, metric: str | None = None) -> list[MetricSample]:
        found: list[MetricSample] = []
        with self.lock.hold():
            for chunk in history.chunks(self.directory / "history", "metrics", since):
                # Only the converted samples stay cached: full chunks are never rewritten.
                index = self.files.derived(chunk.path, "samples", sample_index.build, keep_records=False)
                found.extend(index.select(since, metric))
        return found

    def add_checks(self, checks: Iterable[CheckRecord]) -> None:
        self._append("checks", [(c.at, records.check_to_record(c)) for c in checks])

    def checks(self, environment_uid: str, since: datetime | None = None) -> list[CheckRecord]:
        found = self._scan("checks", since, lambda r: r["environment_uid"] == environment_uid)
        return sorted((records.check_from_record(r) for r in found), key=lambda c: c.at)

    def audit(self, *entries: AuditEntry) -> None:
        self._append("audit", [(e.at, records.audit_to_record(e)) for e in entries])

    def audit_trail(self, since: datetime | None = None) -> list[AuditEntry]:
        found = self._scan("audit", since, lambda r: True)
        return sorted((records.audit_from_record(r) for r in found), key=lambda e: e.at)

    # --- internals ----------------------------------------------------------------------------------
    def _check_schema(self) -> None:
        meta = self.directory / "meta.json"
        if not meta.exists():
            created = datetime.now(UTC).isoformat()
            atomic_write_text(meta, json.dumps({"schema_version": SCHEMA_VERSION, "created_at": created}))
            return
        try:
            version = json.loads(meta.read_text(encoding="utf-8"))["schema_version"]
        except (ValueError, KeyError, TypeError) as error:
            raise StoreCorruptedError(f"{meta}: unreadable store metadata ({error})") from None
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{meta}: the store has schema {version}, this stagetui understands up to {SCHEMA_VERSION}; "
                "upgrade stagetui"
            )

    def collection(self, name: str, key: str = "id") -> Collection:
        """A small keyed table in its own file (benchmarks, experiments, notes, outcomes)."""
        return Collection(self, self.directory / f"{name}.json", key)

    @contextmanager
    def table(self, path: Path) -> Iterator[Any]:
        """The TinyDB table in `path`, under the store lock, never cached across processes."""
        with self.lock.hold():
            self.files.forget(path)  # written through TinyDB, not through the cache
            database = TinyDB(str(path), storage=AtomicJSONStorage)
            try:
                # cache_size=0: another process may have written since our last read.
                yield database.table(_TABLE, cache_size=0)
            finally:
                database.close()

    def _environments(self) -> dict[str, list[str]]:
        """uid -> document ids in environments.json (one, unless an old file holds duplicates)."""
        return self.files.derived(self.directory / "environments.json", "uids", _uid_index)

    def _converted_environments(self) -> dict[str, Environment]:
        path = self.directory / "environments.json"
        return self.files.derived(path, "environments", _convert_environments)

    def _append(self, kind: str, items: list[tuple[datetime, dict[str, Any]]]) -> None:
        by_month: dict[str, list[dict[str, Any]]] = {}
        for at, record in items:
            by_month.setdefault(history.month_of(at), []).append(record)
        with self.lock.hold():
            for month, batch in by_month.items():
                history.append(self.files, self.directory / "history", kind, month, batch)

    def _scan(
        self, kind: str, since: datetime | None, keep: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        with self.lock.hold():
            for chunk in history.chunks(self.directory / "history", kind, since):
                found.extend(dict(r) for r in self.files.records(chunk.path).values() if keep(r))
        if since:
            found = [r for r in found if datetime.fromisoformat(r.get("at") or r["started_at"]) >= since]
        return found


def _uid_index(documents: Records) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for doc_id, record in documents.items():
        index.setdefault(record["uid"], []).append(doc_id)
    return index


def _convert_environments(documents: Records) -> dict[str, Environment]:
    return {doc_id: records.environment_from_record(r) for doc_id, r in documents.items()}


def _detached(env: Environment) -> Environment:
    """A copy callers may change (they do: status, detail) without touching the cached one; its other
    fields are immutable values. A shallow copy of the instance dict: copy.copy() cost 3x as much."""
    twin = object.__new__(Environment)
    twin.__dict__.update(env.__dict__)
    twin.labels = dict(env.labels)
    return twin
