"""A login role per environment database: what the environment's services connect with.

Without it every environment would reach its database with the server's own credentials, and branch code
could use them to read production (on the same server) or any other environment. The role has the
database's name, a random password, CONNECT on that database only (PUBLIC's default CONNECT is revoked
there, so no other environment's role gets in) and read/write on its tables. It is dropped with the
database; `gc` drops roles left by a crash between the two.
"""

from __future__ import annotations

import secrets

from psycopg import sql
from psycopg.conninfo import make_conninfo

from stagetui.data.engine import DataLocation
from stagetui.data.postgres.connection import connect, connect_admin, database_of, translated, validate_name

# Schemas of the server's own: never granted.
_USER_SCHEMAS = (
    "SELECT nspname FROM pg_namespace"
    " WHERE nspname <> 'information_schema' AND NOT starts_with(nspname, 'pg_')"
)


def create_login(db: DataLocation) -> DataLocation:
    """Create (or, on a rerun, re-key) the database's login; `db` as that login reaches it. The login
    can do nothing until `grant_access` (the database may not exist yet)."""
    name = validate_name(database_of(db))
    password = secrets.token_urlsafe(24)
    with translated(db, "creating the login of"), connect_admin(db) as conn:
        known = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        make = "ALTER ROLE {} LOGIN PASSWORD {}" if known else "CREATE ROLE {} LOGIN PASSWORD {}"
        conn.execute(sql.SQL(make).format(sql.Identifier(name), sql.Literal(password)))
    assert db.dsn is not None
    return DataLocation.postgres(make_conninfo(db.dsn, user=name, password=password), name)


def grant_access(db: DataLocation) -> None:
    """The database's login may connect to it, and only its login (besides the server's admins), and
    read and write its tables."""
    name = validate_name(database_of(db))
    role = sql.Identifier(name)
    with translated(db, "granting access to"), connect_admin(db) as conn:
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(role, role))
    with translated(db, "granting access to"), connect(db, autocommit=True) as conn:
        for (schema,) in conn.execute(_USER_SCHEMAS).fetchall():
            where = sql.Identifier(schema)
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, role))
            tables = "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}"
            conn.execute(sql.SQL(tables).format(where, role))
            sequences = "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}"
            conn.execute(sql.SQL(sequences).format(where, role))


def drop_login(db: DataLocation) -> None:
    """Drop the database's login, once the database is gone (its grants go with it)."""
    name = validate_name(database_of(db))
    with translated(db, "dropping the login of"), connect_admin(db) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def list_logins(server: DataLocation, prefix: str) -> list[str]:
    with translated(server, "listing logins on"), connect_admin(server) as conn:
        rows = conn.execute(
            'SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) ORDER BY rolname COLLATE "C"',
            (prefix,),
        )
        return [name for (name,) in rows]
