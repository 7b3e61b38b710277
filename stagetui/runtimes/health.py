"""The HTTP health check every runtime ends its start with: GET the endpoint's health path until it
answers 200 with a JSON body."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from stagetui.runtimes.base import RuntimeOperationError


def probe_health(subject: str, url: str, timeout: float, still_running: Callable[[], bool]) -> str:
    """Poll `url` until it answers; give up early when the service stopped. Returns a short detail."""
    deadline = time.monotonic() + timeout
    attempts, last_error = 0, ""
    while time.monotonic() < deadline:
        attempts += 1
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = json.loads(response.read())
                served = body.get("customers", "?") if isinstance(body, dict) else "?"
                return f"healthy after {attempts} check(s): {served} customers served"
        except (urllib.error.URLError, OSError, ValueError) as error:
            last_error = str(error)
        if not still_running():
            break
        time.sleep(0.05)
    raise RuntimeOperationError(f"{subject} is not healthy at {url}: {last_error or 'service stopped'}")
