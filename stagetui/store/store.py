"""The local store: environments and their history in TinyDB files.

Writes are atomic (see storage.py) and serialized across processes by one lock. TinyDB rewrites a whole
file on every insert, so append-heavy history (steps, metrics, checks, audit) is partitioned by month and
written in batches, and environments live in one small file.
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
from stagetui.store import records
from stagetui.store.atomic import atomic_write_text
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
        with self.lock.hold():
            self._check_schema()

    # --- environments -------------------------------------------------------------------------------
    def save_environment(self, env: Environment) -> None:
        with self.table(self.directory / "environments.json") as table:
            table.upsert(records.environment_to_record(env), Query().uid == env.uid)

    def environments(self) -> list[Environment]:
        with self.table(self.directory / "environments.json") as table:
            return [records.environment_from_record(r) for r in table.all()]

    def environment(self, uid: str) -> Environment | None:
        with self.table(self.directory / "environments.json") as table:
            found = table.get(Query().uid == uid)
        return records.environment_from_record(dict(found)) if found else None

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
        found = self._scan("metrics", since, lambda r: metric is None or r["metric"] == metric)
        return [records.metric_from_record(r) for r in found]

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
            database = TinyDB(str(path), storage=AtomicJSONStorage)
            try:
                # cache_size=0: another process may have written since our last read.
                yield database.table(_TABLE, cache_size=0)
            finally:
                database.close()

    def _partition(self, kind: str, at: datetime) -> Path:
        return self.directory / "history" / f"{kind}-{at.astimezone(UTC):%Y-%m}.json"

    def _append(self, kind: str, items: list[tuple[datetime, dict[str, Any]]]) -> None:
        by_partition: dict[Path, list[dict[str, Any]]] = {}
        for at, record in items:
            by_partition.setdefault(self._partition(kind, at), []).append(record)
        with self.lock.hold():
            for path, batch in by_partition.items():
                with self.table(path) as table:
                    table.insert_multiple(batch)

    def _scan(
        self, kind: str, since: datetime | None, keep: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        first = self._partition(kind, since).name if since else ""
        found: list[dict[str, Any]] = []
        with self.lock.hold():
            for path in sorted((self.directory / "history").glob(f"{kind}-*.json")):
                if path.name < first:
                    continue
                with self.table(path) as table:
                    found.extend(dict(r) for r in table.all() if keep(r))
        if since:
            found = [r for r in found if datetime.fromisoformat(r.get("at") or r["started_at"]) >= since]
        return found
