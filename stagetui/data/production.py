"""Where production's data and configuration are read from, and the sample production made on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stagetui.sample.generator import SampleSpec, generate_production_db, write_production_config
from stagetui.store.lock import StateLock

ProgressFn = Callable[[float, str], None]


class ProductionMissingError(FileNotFoundError):
    pass


@dataclass(frozen=True)
class ProductionSource:
    database: Path
    config: Path
    sample: SampleSpec | None
    """What to generate when this is the sample production; None for a configured production."""
    lock: Path
    """Serializes generation across processes."""

    @property
    def ready(self) -> bool:
        return self.database.is_file() and self.config.exists()


def ensure_production(source: ProductionSource, progress: ProgressFn | None = None) -> str | None:
    """Generate the sample production if it is missing; return what was done, or None if nothing was."""
    if source.ready:
        return None
    if source.sample is None:
        missing = source.database if not source.database.is_file() else source.config
        raise ProductionMissingError(f"production data not found: {missing} (see production.* in the config)")
    # One generator at a time, even across processes; the one that waited finds the work done.
    with StateLock(source.lock, timeout=900).hold():
        if source.ready:
            return None
        write_production_config(source.config)
        if source.database.is_file():
            return "restored the sample production config"
        report = generate_production_db(source.database, source.sample, progress)
    rows = sum(report.row_counts.values())
    return f"generated the sample production: {rows:,} rows in {report.seconds:.1f}s"


def sample_spec(customers: int, seed: int, now: datetime) -> SampleSpec:
    return SampleSpec(customers=customers, seed=seed, now=now)
