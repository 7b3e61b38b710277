"""Reaching a database named by a `DataLocation`, and keeping passwords out of every message and argv."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stagetui.data.engine import DataEngineError, DataLocation

Connection = psycopg.Connection[tuple[Any, ...]]

# Lowercase only: PostgreSQL folds unquoted names, so anything else needs quoting everywhere it is typed.
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_HIDDEN = "***"
MAINTENANCE_DATABASE = "postgres"
CONNECT_TIMEOUT_SECONDS = 10


def validate_name(name: str | None) -> str:
    """A database name stagetui may create, change or drop (sources it only reads may be named anything)."""
    if name is None or not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid database name {name!r}: use 1-63 of a-z, 0-9 and _, not starting with a digit"
        )
    return name


def database_of(location: DataLocation) -> str:
    if location.engine != "postgres" or not location.dsn or not location.database:
        raise ValueError(f"not a PostgreSQL database location: {location.describe()}")
    return location.database


def mask_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ***, in the form it was given (URI or key=value)."""
    if dsn.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(dsn)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hosts = netloc.rpartition("@")
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:{_HIDDEN}@{hosts}"
        query = urlencode(
            [
                (k, _HIDDEN if k == "password" else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*",
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"  # echoing it could echo the password
    if "password" in params:
        params["password"] = _HIDDEN
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def error_text(exc: psycopg.Error, dsn: str | None) -> str:
    """The server's primary message only: a DETAIL can quote row values ("Failing row contains (...)",
    "Key (email)=(...)"), which may be production data; and never the password."""
    primary = exc.diag.message_primary
    text = primary if primary else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return scrub(text, dsn)


# A connection lost to a restart, a crash or a failover: 57P01-57P03 are the server shutting down or
# starting, class 08 the connection itself; no SQLSTATE at all is libpq finding the socket closed.
_LOST_STATES = ("57P01", "57P02", "57P03")


def connection_lost(exc: psycopg.Error) -> bool:
    """The connection went away under the statement, rather than the statement failing."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state in _LOST_STATES or state.startswith("08")


def failure_text(exc: psycopg.Error, location: DataLocation) -> str:
    """`error_text`, naming the server when the connection to it was lost: the server's own reason
    ("terminating connection due to administrator command") says nothing of which server went away."""
    reason = error_text(exc, location.dsn)
    if connection_lost(exc):
        return f"lost the connection to the server at {server_address(location)} ({reason})"
    return reason


def _password(dsn: str) -> str | None:
    try:
        value = conninfo_to_dict(dsn).get("password")
    except psycopg.ProgrammingError:
        return None
    return None if value is None else str(value)


def scrub(message: str, dsn: str | None) -> str:
    """`message` without the DSN's password, should a driver or tool ever echo it."""
    password = _password(dsn) if dsn else None
    return message.replace(password, _HIDDEN) if password else message


def _parse(location: DataLocation) -> dict[str, Any]:
    try:
        return conninfo_to_dict(location.dsn or "")
    except psycopg.ProgrammingError:
        # Not echoed: a malformed DSN may still hold a password.
        raise DataEngineError(f"invalid connection string for {location.describe()}") from None


def conninfo(location: DataLocation, database: str | None = None) -> str:
    """The location's DSN pointed at `database` (default: the location's own database)."""
    target = database or database_of(location)
    _parse(location)
    assert location.dsn is not None
    return make_conninfo(location.dsn, dbname=target)


def tool_conninfo(location: DataLocation) -> tuple[str, dict[str, str]]:
    """For pg_dump / pg_restore: a conninfo without the password, and the password as PGPASSWORD.

    Command lines are readable by every user of the machine (ps); the environment is not.
    """
    params = conninfo_to_dict(conninfo(location))
    password = params.pop("password", None)
    env = {} if password is None else {"PGPASSWORD": str(password)}
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def server_address(location: DataLocation) -> str:
    try:
        params = conninfo_to_dict(location.dsn or "")
    except psycopg.ProgrammingError:
        return "the server"
    host, port = params.get("host") or "the local socket", params.get("port")
    return f"{host}:{port}" if port else str(host)


def connect(location: DataLocation, *, autocommit: bool = False, database: str | None = None) -> Connection:
    """Open a connection to the location's database (or `database` on the same server); times are UTC."""
    target = database or database_of(location)
    params: dict[str, Any] = {"autocommit": autocommit, "application_name": "stagetui"}
    assert location.dsn is not None
    if "connect_timeout" not in location.dsn:
        params["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        conn = psycopg.connect(conninfo(location, target), **params)
    except psycopg.Error as exc:
        reason = error_text(exc, location.dsn)
        meant = "" if target == location.database else f" (to reach {location.describe()})"
        raise DataEngineError(
            f"cannot connect to postgres database {target}{meant} on {server_address(location)}: {reason}"
        ) from exc
    conn.execute("SET TIME ZONE 'UTC'")  # text timestamps without an offset are read as UTC
    if not autocommit:
        conn.commit()
    return conn


def connect_admin(location: DataLocation) -> Connection:
    """An autocommit connection for CREATE / DROP / ALTER DATABASE: never to the database acted upon."""
    own = _parse(location).get("dbname")
    database = str(own) if own and own != location.database else MAINTENANCE_DATABASE
    return connect(location, autocommit=True, database=database)


@contextmanager
def translated(location: DataLocation, action: str) -> Iterator[None]:
    """Turn driver errors into DataEngineError naming the database and the action, never the password."""
    try:
        yield
    except psycopg.Error as exc:
        reason = failure_text(exc, location)
        raise DataEngineError(f"{action} {location.describe()} failed: {reason}") from exc
