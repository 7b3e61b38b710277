"""The sample service as a real process, spoken to over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stagetui.sample.generator import SampleSpec, generate_production_db

pytestmark = pytest.mark.integration

CUSTOMERS = 40
CONFIG = {
    "app": {"database": {"pool_size": 5, "password": "hunter2"}, "http": {"workers": 2}},
    "env": {"APP_ENV": "ephemeral", "PAYMENT_API_KEY": "test-key", "Session_Token": "abc"},
    "feature_flags": {"new_checkout": True},
}
STARTUP_LIMIT_SECONDS = 20.0  # generous: a loaded CI machine may start Python slowly


@dataclass
class RunningService:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


@contextmanager
def _start(tmp_path: Path, db: Path, config: Path) -> Iterator[RunningService]:
    port_file, log = tmp_path / "service.port", tmp_path / "service.log"
    command = [sys.executable, "-m", "stagetui.sample.service", "--db", str(db), "--config", str(config)]
    command += ["--port-file", str(port_file), "--env-id", "env-test"]
    with log.open("wb") as log_handle:
        process = subprocess.Popen(command, stdout=log_handle, stderr=log_handle, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"service did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield RunningService(process, f"http://127.0.0.1:{int(port_file.read_text())}", log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    db = tmp_path / "production.db"
    generate_production_db(db, SampleSpec(customers=CUSTOMERS, now=datetime(2026, 11, 26, 8, tzinfo=UTC)))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    with _start(tmp_path, db, config) as running:
        yield running


def _get(service: RunningService, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(service.base_url + path, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def test_health_reports_the_environment_and_its_customers(service: RunningService) -> None:
    assert _get(service, "/health") == (200, {"status": "ok", "env_id": "env-test", "customers": CUSTOMERS})


def test_stats_counts_rows_and_reports_the_newest_update(service: RunningService) -> None:
    status, body = _get(service, "/stats")
    assert status == 200
    assert body["tables"]["customers"] == CUSTOMERS
    assert body["tables"]["products"] == 500
    assert set(body["tables"]) == {"customers", "accounts", "products", "orders", "order_items", "payments"}
    assert "2026-08-28T08:00:00Z" <= body["newest_updated_at"] <= "2026-11-26T08:00:00Z"


def test_customers_honours_and_caps_the_limit(service: RunningService) -> None:
    status, body = _get(service, "/customers?limit=3")
    assert status == 200
    assert [c["id"] for c in body["customers"]] == [1, 2, 3]
    assert set(body["customers"][0]) == {"id", "full_name", "email", "city"}
    assert len(_get(service, "/customers")[1]["customers"]) == 10
    assert len(_get(service, "/customers?limit=1000")[1]["customers"]) == CUSTOMERS  # capped at 100, 40 exist
    assert _get(service, "/customers?limit=abc")[0] == 400


def test_config_redacts_secret_looking_values(service: RunningService) -> None:
    status, body = _get(service, "/config")
    assert status == 200
    assert body["app"]["database"] == {"pool_size": 5, "password": "***"}
    assert body["env"] == {"APP_ENV": "ephemeral", "PAYMENT_API_KEY": "***", "Session_Token": "***"}
    assert body["feature_flags"] == {"new_checkout": True}


def test_unknown_paths_get_a_json_404(service: RunningService) -> None:
    assert _get(service, "/nope") == (404, {"error": "not found", "path": "/nope"})


def test_requests_are_logged_without_query_strings(service: RunningService) -> None:
    _get(service, "/customers?limit=2")
    service.process.send_signal(signal.SIGTERM)
    service.process.wait(timeout=10)
    log = service.log.read_text()
    assert "GET /customers 200" in log
    assert "limit=2" not in log


def test_sigterm_stops_the_service_cleanly(service: RunningService) -> None:
    assert _get(service, "/health")[0] == 200
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=10) == 0


def test_sigint_stops_the_service_cleanly(service: RunningService) -> None:
    service.process.send_signal(signal.SIGINT)
    assert service.process.wait(timeout=10) == 0


def test_health_is_503_with_a_reason_when_the_database_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    with _start(tmp_path, tmp_path / "missing.db", config) as running:
        status, body = _get(running, "/health")
        assert status == 503
        assert body["status"] == "unavailable" and "missing.db" in body["reason"]


def test_health_is_503_when_the_config_does_not_parse(tmp_path: Path) -> None:
    db = tmp_path / "production.db"
    generate_production_db(db, SampleSpec(customers=5, now=datetime(2026, 11, 26, 8, tzinfo=UTC)))
    config = tmp_path / "config.json"
    config.write_text("{not json")
    with _start(tmp_path, db, config) as running:
        status, body = _get(running, "/health")
        assert status == 503 and body["reason"].startswith("config:")
