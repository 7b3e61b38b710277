"""How an application reaches a database: a URL without a password (passwords go to a .pgpass file)."""

from __future__ import annotations

from urllib.parse import quote

from stagetui.data.engine import DataLocation


def _parts(db: DataLocation) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict  # only needed with PostgreSQL

    if db.dsn is None:
        raise ValueError(f"{db.describe()} has no connection string")
    return {k: str(v) for k, v in conninfo_to_dict(db.dsn).items() if v is not None}


def database_url(db: DataLocation) -> str:
    """sqlite:///PATH, or postgresql://user@host:port/database with no password in it."""
    if db.engine == "sqlite":
        return f"sqlite:///{db.path}"
    parts = _parts(db)
    user = f"{quote(parts['user'], safe='')}@" if "user" in parts else ""
    host = parts.get("host", "localhost")
    port = f":{parts['port']}" if "port" in parts else ""
    return f"postgresql://{user}{quote(host, safe='/')}{port}/{quote(db.database or '', safe='')}"


def pgpass_line(db: DataLocation) -> str | None:
    """A .pgpass line for this database when its connection string carries a password, else None."""
    if db.engine != "postgres":
        return None
    parts = _parts(db)
    if "password" not in parts:
        return None

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    fields = (parts.get("host", "localhost"), parts.get("port", "5432"), db.database or "*")
    return ":".join(escape(f) for f in (*fields, parts.get("user", "*"), parts["password"]))
