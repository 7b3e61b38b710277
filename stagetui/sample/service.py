"""The sample service: a tiny read-only HTTP API over the sample production database.

Standard library only on SQLite, so it runs with a bare Python 3.11 inside any environment (local process or
container); on PostgreSQL (DATABASE_URL=postgresql://...) it needs psycopg:
    python -m stagetui.sample.service [--db PATH] --config CONFIG.json [--port-file PATH] [--host H]
        [--port N] [--env-id ID]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from stagetui.sample.backends import Database, DatabaseError, open_database, quote

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
REDACTED = "***"
_SECRET_KEY = re.compile(r"password|secret|token|key|credential", re.IGNORECASE)
T = TypeVar("T")


class ServiceUnavailable(Exception):
    """The database or the config is not usable; answered with 503 and the reason."""


@dataclass(frozen=True)
class ServiceState:
    db_path: Path | None
    env_id: str
    config: dict[str, Any] | None
    config_error: str | None
    database_url: str | None = None
    """Used when there is no db_path: sqlite:///PATH or postgresql://..."""


def load_config(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The config, or the reason it is unusable: a bad config makes /health fail, not the process."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, f"config: {error}"
    if not isinstance(data, dict):
        return None, "config: the top level is not a JSON object"
    return data, None


def redact(value: Any) -> Any:
    """Replace the value of every secret-looking key (password, secret, token, key, credential)."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _query(state: ServiceState, work: Callable[[Database], T]) -> T:
    """One connection per request: connections must not cross threads."""
    try:
        database = open_database(state.db_path, state.database_url)
    except DatabaseError as error:
        raise ServiceUnavailable(str(error)) from None
    try:
        return work(database)
    except DatabaseError as error:
        raise ServiceUnavailable(str(error)) from None
    finally:
        database.close()


def health(state: ServiceState) -> dict[str, Any]:
    if state.config_error:
        raise ServiceUnavailable(state.config_error)
    count: int = _query(state, lambda db: db.rows("SELECT COUNT(*) FROM customers")[0][0])
    return {"status": "ok", "env_id": state.env_id, "customers": count}


def stats(state: ServiceState) -> dict[str, Any]:
    def collect(db: Database) -> dict[str, Any]:
        counts, newest = {}, []
        for table in db.tables():
            counts[table] = db.rows(f"SELECT COUNT(*) FROM {quote(table)}")[0][0]
            if "updated_at" in db.columns(table):
                newest.append(_iso(db.rows(f"SELECT MAX(updated_at) FROM {quote(table)}")[0][0]))
        return {"tables": counts, "newest": max((n for n in newest if n), default=None)}

    found = _query(state, collect)
    return {
        "env_id": state.env_id,
        "tables": found["tables"],
        "newest_updated_at": found["newest"],
        "data_age_seconds": _age_seconds(found["newest"]),
    }


def _iso(value: object) -> str | None:
    """SQLite stores text; PostgreSQL returns a datetime."""
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value is not None else None)


def _age_seconds(stamp: str | None) -> float | None:
    try:
        moment = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max((datetime.now(UTC) - moment).total_seconds(), 0.0)


def customers(state: ServiceState, limit: int) -> dict[str, Any]:
    sql = "SELECT id, full_name, email, city FROM customers ORDER BY id LIMIT ?"
    rows = _query(state, lambda db: db.rows(sql, (limit,)))
    items = [{"id": r[0], "full_name": r[1], "email": r[2], "city": r[3]} for r in rows]
    return {"customers": items, "count": len(items)}


def parse_limit(query: str) -> int:
    """?limit=N, default DEFAULT_LIMIT, capped at MAX_LIMIT. Raises ValueError when not a positive integer."""
    values = parse_qs(query).get("limit")
    if not values:
        return DEFAULT_LIMIT
    limit = int(values[-1])
    if limit < 1:
        raise ValueError("limit must be positive")
    return min(limit, MAX_LIMIT)


class SampleServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not block shutdown

    def __init__(self, address: tuple[str, int], state: ServiceState) -> None:
        super().__init__(address, SampleHandler)
        self.state = state


class SampleHandler(BaseHTTPRequestHandler):
    server_version = "stagetui-sample/1"

    def do_GET(self) -> None:
        state = cast(SampleServer, self.server).state
        url = urlsplit(self.path)
        try:
            if url.path == "/health":
                self._send(HTTPStatus.OK, health(state))
            elif url.path == "/stats":
                self._send(HTTPStatus.OK, stats(state))
            elif url.path == "/customers":
                self._customers(state, url.query)
            elif url.path == "/config":
                if state.config is None:
                    raise ServiceUnavailable(state.config_error or "config: not loaded")
                self._send(HTTPStatus.OK, redact(state.config))
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not found", "path": url.path})
        except ServiceUnavailable as error:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "unavailable", "reason": str(error)})

    def _customers(self, state: ServiceState, query: str) -> None:
        try:
            limit = parse_limit(query)
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, {"error": "limit must be a positive integer"})
            return
        self._send(HTTPStatus.OK, customers(state, limit))

    def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Path only: query strings may carry data and must not reach the log.
        code_text = code.value if isinstance(code, HTTPStatus) else code
        path = urlsplit(self.path).path if hasattr(self, "path") else "-"
        self.log_message("%s %s %s", self.command, path, code_text)

    def log_message(self, format: str, *args: Any) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        sys.stderr.write(f"{stamp} {self.address_string()} {format % args}\n")


def write_port_file(path: Path, port: int) -> None:
    """Temp file + rename, so a reader never sees a half-written port."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(f"{port}\n")
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stagetui.sample.service", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite database (opened read-only); else $DATABASE_URL")
    parser.add_argument("--config", type=Path, required=True, help="the environment's config, as JSON")
    parser.add_argument("--port-file", type=Path, help="where to write the bound port")
    parser.add_argument("--host", default="127.0.0.1")
    # 0 (any free port, announced in --port-file) for local processes; a container listens on a fixed
    # port of its own network namespace, which the engine publishes on the host.
    parser.add_argument("--port", type=int, default=0)
    # A container learns its environment from the variable its runtime sets.
    parser.add_argument("--env-id", default=os.environ.get("STAGETUI_ENV_ID", "sample"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    config, config_error = load_config(args.config)
    state = ServiceState(
        db_path=args.db,
        env_id=args.env_id,
        config=config,
        config_error=config_error,
        database_url=os.environ.get("DATABASE_URL"),
    )
    server = SampleServer((args.host, args.port), state)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    serving = threading.Thread(target=server.serve_forever, name="sample-service", daemon=True)
    serving.start()
    port = server.server_address[1]
    try:
        if args.port_file is not None:
            write_port_file(args.port_file, port)
        sys.stderr.write(f"sample service {args.env_id} listening on {args.host}:{port}\n")
        sys.stderr.flush()
        while not stop.wait(0.5):  # short waits keep the main thread responsive to signals everywhere
            pass
    finally:
        server.shutdown()
        server.server_close()
    sys.stderr.write("sample service stopped\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
