"""A moto server for AWS integration tests: one per test session, emptied before each test that uses it.

Tests talk to it over real HTTP (botocore's full request path, pagination included), not through moto's
in-process patching. Request `aws_endpoint` for the URL with dummy credentials and a region already set.
The fixtures are registered for every module under tests/integration by that directory's conftest.py.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REGION = "us-east-1"

# Variables that could point a test at real AWS or change botocore's behaviour from outside the test.
_AMBIENT_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)

# Loopback requests must never go through a proxy configured for the developer's network.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Base URL of a moto server on a free loopback port, stopped when the session ends."""
    # Imported here: conftest.py imports this module for every integration run, most of which need no AWS.
    from moto.server import ThreadedMotoServer

    # Port 0: the OS picks a free port while binding, so there is no window in which another process takes it.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_moto(url: str) -> None:
    """Forget every resource the server holds (all services, all regions)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with _DIRECT.open(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"moto reset answered HTTP {response.status}")


@pytest.fixture
def aws_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The moto server's URL, emptied, with dummy credentials and a region in the environment."""
    reset_moto(moto_server)
    for name in _AMBIENT_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # A developer's ~/.aws files could add a profile, credential_process or endpoint: point at absent files.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-aws-credentials"))
    for name in ("NO_PROXY", "no_proxy"):  # botocore honours HTTP(S)_PROXY, and so would route moto's URL
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return moto_server


def queue_cost_explorer_result(endpoint: str, amounts: list[str]) -> None:
    """moto's Cost Explorer answers only what is queued for it: one answer with a day per amount."""
    days = [
        {
            "TimePeriod": {"Start": f"2024-05-{day:02d}", "End": f"2024-05-{day + 1:02d}"},
            "Total": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}},
            "Groups": [],
            "Estimated": False,
        }
        for day, amount in enumerate(amounts, start=1)
    ]
    body = json.dumps({"results": [{"ResultsByTime": days, "DimensionValueAttributes": []}]}).encode()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with _DIRECT.open(request, timeout=10) as response:
        if response.status != 201:
            raise RuntimeError(f"moto refused the Cost Explorer result: HTTP {response.status}")
