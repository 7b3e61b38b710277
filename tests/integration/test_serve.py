"""`stagetui serve`: the same app in a browser through textual-serve, on loopback by default."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
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
