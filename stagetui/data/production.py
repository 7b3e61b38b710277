"""Where production's data and configuration are read from, and the sample production made on first use."""

from __future__ import annotations

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
    """Serializes generation across processes."""

    @property
    def database(self) -> Path:
        """The SQLite file (for code that only handles the embedded engine)."""
        if self.data.path is None:
            raise ValueError(f"production is {self.data.describe()}, not a SQLite file")
        return self.data.path


def ensure_production(
    source: ProductionSource, engine: DataEngine, progress: ProgressFn | None = None
) -> str | None:
    """Generate the sample production if it is missing; return what was done, or None if nothing was."""
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


def sample_spec(customers: int, seed: int, now: datetime) -> SampleSpec:
    return SampleSpec(customers=customers, seed=seed, now=now)
