"""What production is for a given config: a configured SQLite database and config tree, or the sample."""

from __future__ import annotations

from datetime import datetime

from stagetui.config.model import StagetuiConfig
from stagetui.data.production import ProductionSource, sample_spec
from stagetui.service.paths import StatePaths


def production_source(config: StagetuiConfig, paths: StatePaths, now: datetime) -> ProductionSource:
    is_sample = config.production.database is None
    return ProductionSource(
        database=config.production.database or paths.sample / "production.db",
        config=config.production.config or paths.sample / "production_config",
        sample=sample_spec(config.sample.customers, config.sample.seed, now) if is_sample else None,
        lock=paths.locks / "sample.lock",
    )
