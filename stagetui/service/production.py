"""What production is for a given config: a SQLite file or a PostgreSQL database, its config tree, or the
generated sample production."""

from __future__ import annotations

from datetime import datetime

from stagetui.config.model import StagetuiConfig
from stagetui.data.engine import DataLocation
from stagetui.data.production import ProductionSource, dump_version, sample_spec
from stagetui.service.databases import production_database
from stagetui.service.paths import StatePaths


def production_location(config: StagetuiConfig, paths: StatePaths, tag: str) -> DataLocation:
    if config.production.postgres is not None:
        return postgres_location(config.production.postgres)
    if config.production.postgres_dump is not None and config.data.postgres.dsn is not None:
        version = dump_version(config.production.postgres_dump)
        return DataLocation.postgres(config.data.postgres.dsn, f"{production_database(tag)}_{version}")
    return DataLocation.sqlite(config.production.database or paths.sample / "production.db")


def postgres_location(dsn: str) -> DataLocation:
    """A DSN names the server and the database at once; the database part becomes `database`."""
    from psycopg.conninfo import conninfo_to_dict  # psycopg is only needed with PostgreSQL

    database = conninfo_to_dict(dsn).get("dbname")
    if not database:
        raise ValueError("the connection string names no database (add /dbname or dbname=...)")
    return DataLocation.postgres(dsn, str(database))


def production_source(config: StagetuiConfig, paths: StatePaths, now: datetime, tag: str) -> ProductionSource:
    is_sample = config.production.database is None and not config.production.on_postgres
    return ProductionSource(
        data=production_location(config, paths, tag),
        config=config.production.config or paths.sample / "production_config",
        sample=sample_spec(config.sample.customers, config.sample.seed, now) if is_sample else None,
        sample_config=config.production.config is None,
        lock=paths.locks / "sample.lock",
        dump=config.production.postgres_dump,
    )
