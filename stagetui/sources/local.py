"""Config sources on this machine: files and directories, feature-flag files, an environment's rendered
config, and the variables its running services actually have."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from stagetui.sources.base import ConfigSource, LoadedConfig
from stagetui.sources.files import ConfigSourceError, load_file, load_tree, namespace_of


class FilesSource(ConfigSource):
    """A directory (one namespace per file, by file name) or a single file (its own namespace)."""

    def __init__(self, path: Path, namespace: str | None = None) -> None:
        self.path = path
        self.namespace = namespace
        self.description = f"files {path}"

    def load(self) -> LoadedConfig:
        if not self.path.exists():
            raise ConfigSourceError(f"{self.description}: not found")
        if self.path.is_dir():
            tree = load_tree(self.path)
            return LoadedConfig({self.namespace: tree} if self.namespace else tree)
        return LoadedConfig({self.namespace or namespace_of(self.path): load_file(self.path)})


class FeatureFlagsSource(FilesSource):
    """A feature-flag file (JSON, YAML or TOML export of the flag service) under `feature_flags`."""

    def __init__(self, path: Path, namespace: str = "feature_flags") -> None:
        super().__init__(path, namespace)
        self.description = f"feature flags {path}"


class RenderedConfigSource(ConfigSource):
    """The config an environment was given (its rendered config.json), namespaces as they are."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"rendered config {path.parent.parent.name}"

    def load(self) -> LoadedConfig:
        try:
            tree = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigSourceError(f"{self.description}: the environment has no rendered config") from None
        except (OSError, ValueError) as error:
            raise ConfigSourceError(f"{self.description}: unreadable ({error})") from None
        if not isinstance(tree, dict):
            raise ConfigSourceError(f"{self.description}: not a map of namespaces")
        return LoadedConfig(tree)


class LiveVariablesSource(ConfigSource):
    """The variables an environment's services run with right now, under `env` (like production's .env)."""

    def __init__(
        self, environment_id: str, variables: Mapping[str, str] | None, namespace: str = "env"
    ) -> None:
        self.variables = variables
        self.namespace = namespace
        self.description = f"live variables of {environment_id}"

    def load(self) -> LoadedConfig:
        if self.variables is None:
            raise ConfigSourceError(f"{self.description}: its services are not running")
        return LoadedConfig({self.namespace: dict(self.variables)})
