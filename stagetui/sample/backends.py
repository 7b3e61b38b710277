"""The sample service's database: a SQLite file (standard library only) or a PostgreSQL database (psycopg,
imported only then). Both answer the same few read-only questions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol


class DatabaseError(Exception):
    """The database is not usable; the message is safe to show (no password)."""


class Database(Protocol):
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """`?` placeholders, as in SQLite."""

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> set[str]: ...

    def close(self) -> None: ...


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        if not path.is_file():  # mode=ro would report the less helpful "unable to open database file"
            raise DatabaseError(f"database: {path.name} not found")
        try:
            self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise DatabaseError(f"database: {error}") from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as error:
            raise DatabaseError(f"database: {error}") from None

    def tables(self) -> list[str]:
        listing = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        return [row[0] for row in self.rows(listing)]

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.rows(f"PRAGMA table_info({quote(table)})")}

    def close(self) -> None:
        self._conn.close()


class PostgresDatabase:
    def __init__(self, url: str) -> None:
        import psycopg  # only environments on PostgreSQL need the driver

        self._errors: type[Exception] = psycopg.Error
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.Error as error:
            # libpq's messages name host and database, never the password.
            raise DatabaseError(f"database: {str(error).strip()}") from None
        self._conn.read_only = True

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql.replace("?", "%s"), tuple(params)).fetchall()
        except self._errors as error:
            raise DatabaseError(f"database: {str(error).strip()}") from None

    def tables(self) -> list[str]:
        listing = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        return [row[0] for row in self.rows(listing)]

    def columns(self, table: str) -> set[str]:
        sql = (
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ?"
        )
        return {row[0] for row in self.rows(sql, (table,))}

    def close(self) -> None:
        self._conn.close()


def open_database(db_path: Path | None, url: str | None) -> Database:
    """--db wins; else DATABASE_URL (sqlite:///PATH or postgresql://...)."""
    if db_path is not None:
        return SqliteDatabase(db_path)
    if url and url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url.removeprefix("sqlite://")))
    if url and url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    raise DatabaseError("database: no --db and no usable DATABASE_URL")
