"""Sealing a finished golden database: statistics, provenance in its comment, and no more connections.

PostgreSQL keeps no creation time or origin for a database, so where a golden copy came from (source,
as-of time, rules version) is stored as JSON in COMMENT ON DATABASE. Comments live in a shared catalog
keyed by the database, so template clones do not inherit it: only the golden itself carries it.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from psycopg import sql

from stagetui.data.engine import DataLocation
from stagetui.data.postgres.connection import connect, connect_admin, database_of, translated, validate_name


def _jsonable(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def seal(location: DataLocation, provenance: dict[str, object]) -> None:
    name = validate_name(database_of(location))
    comment = json.dumps(provenance, sort_keys=True, default=_jsonable)
    with translated(location, "sealing"):
        with connect(location, autocommit=True) as conn:
            # FREEZE sets hint bits and the visibility map once here; every clone would otherwise redo that
            # work on its first reads (and its first anti-wraparound vacuum) for each of its copies.
            conn.execute("VACUUM (FREEZE, ANALYZE)")
        with connect_admin(location) as admin:
            database = sql.Identifier(name)
            # Utility statements take no bind parameters: the literal is quoted client-side.
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(database, sql.Literal(comment)))
            # A template must have no sessions; a golden nobody can connect to can always be cloned.
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(database))


def unseal(location: DataLocation) -> None:
    """Allow connections again, to change a golden (seal it again afterwards)."""
    name = validate_name(database_of(location))
    with translated(location, "unsealing"), connect_admin(location) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name)))


def read_provenance(location: DataLocation) -> dict[str, object] | None:
    """The provenance `seal` recorded (datetimes come back as ISO strings); None if absent or not ours."""
    with translated(location, "reading the provenance of"), connect_admin(location) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (database_of(location),),
        ).fetchone()
    if row is None or row[0] is None:
        return None
    try:
        data = json.loads(row[0])
    except json.JSONDecodeError:
        return None  # someone else's plain-text comment
    return data if isinstance(data, dict) else None
