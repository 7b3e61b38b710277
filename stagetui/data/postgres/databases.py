"""Creating, cloning, listing and dropping whole databases (statements run from the maintenance database)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Literal

import psycopg
from psycopg import errors, sql

from stagetui.data.engine import DataEngineError, DataLocation
from stagetui.data.postgres.connection import (
    Connection,
    connect_admin,
    database_of,
    failure_text,
    translated,
    validate_name,
)

# PostgreSQL already waits 5 s for other sessions to leave a template; a few short extra tries cover a
# session that was just closing (a pooler, a finishing build step) without hiding a real holder for long.
TEMPLATE_ATTEMPTS = 3
TEMPLATE_RETRY_SECONDS = 0.5
CloneStrategy = Literal["file_copy", "wal_log"]


def exists(location: DataLocation) -> bool:
    with translated(location, "looking up"), connect_admin(location) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database_of(location),)
        ).fetchone()
    return row is not None


def size_bytes(location: DataLocation) -> int | None:
    """pg_database_size: what the database's files take on the server (works on a sealed golden too)."""
    with translated(location, "measuring"), connect_admin(location) as conn:
        row = conn.execute(
            "SELECT pg_database_size(oid) FROM pg_database WHERE datname = %s", (database_of(location),)
        ).fetchone()
    return None if row is None else int(row[0])


def list_databases(location: DataLocation, prefix: str) -> list[str]:
    """Names starting with `prefix`, sorted (starts_with, as LIKE would read `_` as a wildcard)."""
    with translated(location, "listing databases next to"), connect_admin(location) as conn:
        rows = conn.execute(
            'SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname COLLATE "C"',
            (prefix,),
        )
        return [name for (name,) in rows]


def create(
    target: DataLocation,
    template: str = "template0",
    attempts: int = TEMPLATE_ATTEMPTS,
    retry_seconds: float = TEMPLATE_RETRY_SECONDS,
    strategy: CloneStrategy | None = None,
) -> None:
    """CREATE DATABASE target TEMPLATE template; refuses an existing target, retries a busy template.

    `strategy` (PostgreSQL 15+, ignored before): "file_copy" copies the template's files and checkpoints
    twice; "wal_log" (the server default) writes every block to the WAL instead: slower for a large
    template, and the whole copy travels to replicas and the WAL archive. None: the server's default.
    """
    name = validate_name(database_of(target))
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    with connect_admin(target) as conn:
        if strategy is not None and conn.info.server_version >= 150000:
            statement += sql.SQL(" STRATEGY {}").format(sql.SQL(strategy))
        for attempt in range(1, max(1, attempts) + 1):
            try:
                conn.execute(statement)
                return
            except errors.DuplicateDatabase:
                raise DataEngineError(f"{target.describe()} already exists") from None
            except errors.ObjectInUse as exc:
                if attempt < attempts:
                    time.sleep(retry_seconds * attempt)
                    continue
                raise DataEngineError(_busy_template(conn, template, target)) from exc
            except psycopg.Error as exc:
                detail = failure_text(exc, target)
                raise DataEngineError(
                    f"creating {target.describe()} from {template} failed: {detail}"
                ) from exc


def _busy_template(conn: Connection, template: str, target: DataLocation) -> str:
    holders = ""
    with suppress(psycopg.Error):
        rows = conn.execute(
            "SELECT coalesce(nullif(application_name, ''), usename::text, 'unknown') "
            "|| ' (pid ' || pid || ')' "
            "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() ORDER BY pid",
            (template,),
        ).fetchall()
        holders = ": " + ", ".join(str(holder) for (holder,) in rows) if rows else ""
    return (
        f"cannot create {target.describe()} from template {template}: other sessions are connected to it"
        f"{holders}. A template must have no connections: seal it (ALLOW_CONNECTIONS false) or close them"
    )


def drop(location: DataLocation) -> None:
    """DROP DATABASE IF EXISTS ... WITH (FORCE): sessions still connected are terminated, not waited for."""
    name = validate_name(database_of(location))
    with translated(location, "dropping"), connect_admin(location) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def removed_on_failure(target: DataLocation) -> Iterator[None]:
    """Drop `target` if the block fails: a half-made database must never look like a finished one."""
    try:
        yield
    except BaseException:
        with suppress(DataEngineError):  # the original failure is the one worth reporting
            drop(target)
        raise
