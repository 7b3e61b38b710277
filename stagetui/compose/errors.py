"""The one error of compose parsing: it names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

from stagetui.config.yaml_lines import Location


class ComposeError(ValueError):
    """A problem in a compose file; str() is `path:line: dotted.key: message`."""

    def __init__(self, path: Path, line: int | None, location: Location, message: str) -> None:
        self.path = path
        self.line = line
        self.location = location
        self.message = message
        super().__init__(self._render())

    def __str__(self) -> str:
        return self._render()

    def _render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        dotted = ".".join(str(part) for part in self.location)
        return f"{where}: {dotted}: {self.message}" if dotted else f"{where}: {self.message}"
