"""Find, read, interpolate and validate a config file, with errors naming file, line and field."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from stagetui.config.errors import ConfigError, ConfigProblem
from stagetui.config.interpolation import InterpolationError, interpolate
from stagetui.config.model import SourceConfig, StagetuiConfig
from stagetui.config.yaml_lines import LocatedDocument, Location, parse_yaml

CONFIG_ENV = "STAGETUI_CONFIG"
LOCAL_NAMES = ("stagetui.yaml", "sample_config.yaml")


def packaged_sample_config() -> Path:
    """The sample config shipped inside the package, so `stagetui` works from any directory."""
    return Path(str(resources.files("stagetui") / "resources" / "sample_config.yaml"))


def resolve_config_path(
    explicit: str | None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """--config, else $STAGETUI_CONFIG, else stagetui.yaml or sample_config.yaml here, else packaged."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    here = cwd or Path.cwd()
    for name in LOCAL_NAMES:
        if (here / name).is_file():
            return here / name
    return packaged_sample_config()


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> StagetuiConfig:
    """Load and validate `path`. Raises ConfigError listing every problem found."""
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError.single(path, "config file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError.single(path, f"cannot read config file: {error}") from None
    document = parse_yaml(text, path)
    if not isinstance(document.data, dict):
        raise ConfigError.single(path, "the top level must be a mapping of settings", document.line_of(()))
    try:
        data = interpolate(document.data, environ)
    except InterpolationError as error:
        line = document.line_of(error.location)
        raise ConfigError.single(path, str(error), line, _dotted(error.location)) from None
    try:
        config = StagetuiConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_problems(error, document, path)) from None
    return _resolve_paths(config, path.parent)


_NEVER_ECHOED = {("production", "postgres"), ("data", "postgres", "dsn")}
"""Connection strings may carry a password: an error about one never quotes it."""


def _problems(error: ValidationError, document: LocatedDocument, path: Path) -> list[ConfigProblem]:
    problems = []
    for item in error.errors():
        location: Location = tuple(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = _unknown_key_message(location)
        elif (
            "input" in item
            and item["type"] not in {"missing"}
            and not isinstance(item["input"], dict | list)
            and location not in _NEVER_ECHOED
        ):
            message = f"{message} (got {_shown(item['input'])})"
        problems.append(ConfigProblem(path, document.line_of(location), _dotted(location), message))
    return problems


def _shown(value: object, limit: int = 80) -> str:
    """The repr of a bad value for an error, shortened; an int too long to print is named instead."""
    try:
        text = repr(value)
    except ValueError:
        return "an integer too long to show"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _unknown_key_message(location: Location) -> str:
    """'unknown key' plus the nearest allowed name, found by walking the model along the location."""
    model: type[BaseModel] | None = StagetuiConfig
    for part in location[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        annotation: Any = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    key = str(location[-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
    return f"unknown key {key!r}; {hint}"


def _dotted(location: Location) -> str | None:
    return ".".join(str(part) for part in location) or None


def _resolve(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _resolve_paths(config: StagetuiConfig, base: Path) -> StagetuiConfig:
    """Relative paths in a config file are relative to that file, not to the working directory."""
    containerized = config.strategies.containerized
    drift = config.drift
    runtimes = config.runtimes

    def sources(entries: list[SourceConfig]) -> list[SourceConfig]:
        return [
            e.model_copy(update={"path": str(_resolve(Path(e.path), base))})
            if e.type in {"files", "feature_flags"} and e.path
            else e
            for e in entries
        ]

    return config.model_copy(
        update={
            "state_dir": _resolve(config.state_dir, base),
            "production": config.production.model_copy(
                update={
                    "database": _resolve(config.production.database, base),
                    "postgres_dump": _resolve(config.production.postgres_dump, base),
                    "config": _resolve(config.production.config, base),
                }
            ),
            "drift": drift.model_copy(
                update={
                    "production_sources": sources(drift.production_sources),
                    "environment_sources": sources(drift.environment_sources),
                }
            ),
            "anonymization": config.anonymization.model_copy(
                update={"key_file": _resolve(config.anonymization.key_file, base)}
            ),
            "strategies": config.strategies.model_copy(
                update={
                    "containerized": containerized.model_copy(
                        update={"config_template": _resolve(containerized.config_template, base)}
                    )
                }
            ),
            "runtimes": runtimes.model_copy(
                update={
                    "docker": runtimes.docker.model_copy(
                        update={"compose": _resolve(runtimes.docker.compose, base)}
                    ),
                    "swarm": runtimes.swarm.model_copy(
                        update={"compose": _resolve(runtimes.swarm.compose, base)}
                    ),
                }
            ),
        }
    )
