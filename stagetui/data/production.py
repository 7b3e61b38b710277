"""Where production's data and configuration are read from, and the sample production made on first use."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stagetui.data.engine import DataEngine, DataLocation
from stagetui.sample.generator import SampleSpec, generate_production_db, write_production_config
from stagetui.store.lock import StateLock

ProgressFn = Callable[[float, str], None]


class ProductionMissingError(FileNotFoundError):
    pass


@dataclass(frozen=True)
class ProductionSource:
    data: DataLocation
    """Production's database: a SQLite file or a PostgreSQL database. Only ever read."""
    config: Path
    sample: SampleSpec | None
    """What to generate when the data is the sample production; None for a configured production."""
    sample_config: bool
    """The config is the sample production's, written on first use."""
    lock: Path
    """Serializes generation (and restoring a dump) across processes."""
    dump: Path | None = None
    """A pg_dump archive of production, restored into `data` (which then stands for production)."""

    @property
    def database(self) -> Path:
        """The SQLite file (for code that only handles the embedded engine)."""
        if self.data.path is None:
            raise ValueError(f"production is {self.data.describe()}, not a SQLite file")
        return self.data.path


def ensure_production(
    source: ProductionSource, engine: DataEngine, progress: ProgressFn | None = None
) -> str | None:
    """Generate the sample production, or restore production's dump, if missing (or, for a dump, changed);
    return what was done, or None if nothing was."""
    if source.dump is not None:
        return _restore_dump(source, engine, source.dump)
    if source.config.exists() and engine.exists(source.data):
        return None
    if not source.config.exists() and not source.sample_config:
        raise ProductionMissingError(f"production config not found: {source.config} (see production.config)")
    if not engine.exists(source.data) and source.sample is None:
        raise ProductionMissingError(
            f"production data not found: {source.data.describe()} (see production.* in the config)"
        )
    # One generator at a time, even across processes; the one that waited finds the work done.
    with StateLock(source.lock, timeout=900).hold():
        if not source.config.exists():
            write_production_config(source.config)
        if engine.exists(source.data) or source.sample is None:
            return "restored the sample production config"
        report = generate_production_db(source.database, source.sample, progress)
    rows = sum(report.row_counts.values())
    return f"generated the sample production: {rows:,} rows in {report.seconds:.1f}s"


def dump_version(dump: Path) -> str:
    """Names the restored database after the archive's size and modification time: a changed archive is
    restored next to the current one, which is only dropped once the new one is complete."""
    if not dump.exists():
        return "missing"
    stat = dump.stat()
    return hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]


def _restore_dump(source: ProductionSource, engine: DataEngine, dump: Path) -> str | None:
    from stagetui.data.postgres.engine import PostgresEngine  # psycopg is only needed with PostgreSQL

    if not isinstance(engine, PostgresEngine) or source.data.dsn is None or source.data.database is None:
        raise ValueError("a production dump needs the PostgreSQL engine")
    if not dump.exists():
        raise ProductionMissingError(f"production dump not found: {dump} (see production.postgres_dump)")
    if engine.exists(source.data) and source.config.exists():
        return None
    with StateLock(source.lock, timeout=1800).hold():
        if not source.config.exists():
            write_production_config(source.config)
        if engine.exists(source.data):
            return None
        engine.restore_dump(dump, source.data)  # a damaged archive leaves nothing, and the old copy intact
        family = source.data.database.rsplit("_", 1)[0] + "_"
        for name in engine.list_databases(source.data.dsn, family):
            if name != source.data.database:
                engine.drop(DataLocation.postgres(source.data.dsn, name))
    return f"restored production from {dump.name} into {source.data.describe()}"


def sample_spec(customers: int, seed: int, now: datetime) -> SampleSpec:
    return SampleSpec(customers=customers, seed=seed, now=now)
