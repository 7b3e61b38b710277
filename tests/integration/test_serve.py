"""`stagetui serve`: the same app in a browser through textual-serve, on loopback by default."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_on_loopback_with_the_app_page(small_config: Path, state_dir: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "stagetui", "--config", str(small_config), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "stagetui" in page and "<html" in page.lower()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_an_unknown_theme_in_the_config_is_bad_input(
    tmp_path: Path, small_config: Path, state_dir: Path
) -> None:
    config = tmp_path / "themed.yaml"
    config.write_text(small_config.read_text() + "ui:\n  theme: no-such-theme\n")
    result = subprocess.run(
        [sys.executable, "-m", "stagetui", "--config", str(config), "tui"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ui.theme: unknown theme 'no-such-theme'" in result.stderr


_SERVE = (sys.executable, "-m", "stagetui", "--config")


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_serve_beyond_loopback_requires_the_token_on_every_request(
    small_config: Path, state_dir: Path
) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [
            *_SERVE,
            str(small_config),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--token",
            "s3cret-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not status:
            try:
                status = _status(f"{base}/")
            except OSError:
                time.sleep(0.2)
        assert status == 401
        assert _status(f"{base}/?token=wrong") == 401
        assert _status(f"{base}/ws") == 401
        assert _status(f"{base}/static/js/textual.js") == 401
        assert _status(f"{base}/?token=s3cret-token") == 200
        with urllib.request.urlopen(f"{base}/?token=s3cret-token", timeout=2) as response:
            page = response.read().decode()
        assert f"ws://127.0.0.1:{port}/ws" in page  # the address the browser used, not 0.0.0.0
        assert _status(f"{base}/", {"Authorization": "Bearer s3cret-token"}) == 200
        assert _status(f"{base}/", {"Cookie": "stagetui_serve_token=s3cret-token"}) == 200
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert "s3cret-token" not in output  # the token is never echoed


def test_serve_beyond_loopback_without_a_token_refuses_before_binding(
    small_config: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STAGETUI_SERVE_TOKEN", raising=False)
    port = _free_port()
    result = subprocess.run(
        [*_SERVE, str(small_config), "serve", "--host", "0.0.0.0", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "needs a token" in result.stderr and "STAGETUI_SERVE_TOKEN" in result.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens
