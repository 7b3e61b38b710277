"""Config errors that name the file, the line and the field, so a typo is found in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigProblem:
    file: Path
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.message}"


class ConfigError(Exception):
    """One or more problems in a config file; str() lists each on its own line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    @classmethod
    def single(
        cls, file: Path, message: str, line: int | None = None, field: str | None = None
    ) -> ConfigError:
        return cls([ConfigProblem(file, line, field, message)])
