"""What every command handler gets: parsed options, consoles, and the service opened on first use."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType

from stagetui.config import StagetuiConfig, load_config, resolve_config_path
from stagetui.service.api import StagetuiService


class CliConsole(Console):
    """Rich exits the process on a broken pipe (`stagetui up | head`); that would skip the rollback or the
    final record of a provisioning run. Go quiet instead and let the work finish."""

    def on_broken_pipe(self) -> None:
        self.quiet = True


@dataclass
class CliContext:
    config_option: str | None
    json_output: bool = False
    out: Console = field(default_factory=lambda: CliConsole(highlight=False))
    err: Console = field(default_factory=lambda: CliConsole(stderr=True, highlight=False))

    @cached_property
    def config_path(self) -> Path:
        return resolve_config_path(self.config_option)

    @cached_property
    def config(self) -> StagetuiConfig:
        return load_config(self.config_path)

    @cached_property
    def service(self) -> StagetuiService:
        return StagetuiService.open(self.config)

    def emit_json(self, payload: Any) -> None:
        """Plain JSON on stdout (no Rich markup or wrapping), one document per command."""
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        sys.stdout.flush()

    def show(self, renderable: RenderableType) -> None:
        self.out.print(renderable)

    def note(self, text: str) -> None:
        """Secondary output (hints, progress lines) goes to stderr so stdout stays the result."""
        if not self.json_output:
            self.err.print(text)
