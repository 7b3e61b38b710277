"""Which data engine a config uses, and the names of the databases stagetui creates on a PostgreSQL server.

Several stagetui installations may share one server, so every name carries a tag of this installation
(its state directory and host): garbage collection then only ever drops databases this installation made.
"""

from __future__ import annotations

import hashlib
import re

from stagetui.config.model import StagetuiConfig
from stagetui.data.engine import DataEngine, DataLocation
from stagetui.data.sqlite_engine import SqliteEngine
from stagetui.runtimes.base import Workspace
from stagetui.service.paths import StatePaths

PREFIX = "stagetui_"
_MAX_NAME = 63  # PostgreSQL's identifier limit (bytes)


def data_engine(config: StagetuiConfig) -> DataEngine:
    if not config.production.on_postgres:
        return SqliteEngine()
    from stagetui.data.postgres.engine import PostgresEngine  # psycopg is only needed with PostgreSQL

    return PostgresEngine(jobs=config.data.postgres.jobs)


def server_dsn(config: StagetuiConfig) -> str | None:
    """The server holding golden copies and environment databases (PostgreSQL only)."""
    return config.data.postgres.dsn or config.production.postgres


def installation_tag(paths: StatePaths, hostname: str) -> str:
    return hashlib.sha256(f"{hostname}:{paths.root}".encode()).hexdigest()[:6]


def _name(*parts: str) -> str:
    name = PREFIX + "_".join(re.sub(r"[^a-z0-9_]", "_", p.lower()) for p in parts)
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


def environment_database(tag: str, environment_id: str) -> str:
    return _name(tag, "env", environment_id)


def environment_prefix(tag: str) -> str:
    return _name(tag, "env") + "_"


def golden_database(tag: str, kind: str, snapshot_id: str) -> str:
    return _name(tag, "golden", kind, snapshot_id)


def production_database(tag: str) -> str:
    """Where a pg_dump archive of production is restored to stand for it."""
    return _name(tag, "production")


def golden_prefix(tag: str) -> str:
    return _name(tag, "golden") + "_"


def environment_location(
    config: StagetuiConfig, tag: str, environment_id: str, workspace: Workspace | None
) -> DataLocation:
    """An environment's database: the file in its workspace, or its own database on the server."""
    dsn = server_dsn(config)
    if config.production.on_postgres and dsn is not None:
        return DataLocation.postgres(dsn, environment_database(tag, environment_id))
    if workspace is None:
        raise ValueError(f"environment {environment_id} has no workspace yet")
    return DataLocation.sqlite(workspace.database)
