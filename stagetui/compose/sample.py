"""The compose definition shipped with stagetui: the sample service with its assets server and worker."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def packaged_compose() -> Path:
    return Path(str(resources.files("stagetui") / "resources" / "compose" / "sample.yaml"))
