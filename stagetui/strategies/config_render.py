"""Rendering an environment's configuration: from production's tree, a snapshot of it, or a template."""

from __future__ import annotations

import copy
import hashlib
import os
import string
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import yaml

from stagetui.data.engine import DataLocation
from stagetui.data.urls import database_url, pgpass_line
from stagetui.domain.secrets import is_secret_key
from stagetui.runtimes.base import Workspace
from stagetui.sources.files import YAML_LOADER, ConfigSourceError

Tree = dict[str, object]


def packaged_template() -> Path:
    return Path(str(resources.files("stagetui") / "sample" / "templates" / "config.yaml"))


def runtime_overrides(environment_id: str, workspace: Workspace, data: DataLocation) -> Tree:
    """Settings that must differ per environment: its own database. A server password goes to the
    workspace's .pgpass file (mode 0600), never into the config, which drift checks read and show."""
    line = pgpass_line(data)
    if line is not None:
        descriptor = os.open(workspace.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(line + "\n")
    return {"env": {"DATABASE_URL": services_database_url(workspace, data)}}


def services_database_url(workspace: Workspace, data: DataLocation) -> str:
    """The database URL as the environment's services reach it: a SQLite file in a container is at the
    path its data volume is mounted on, not at the workspace's path on this machine."""
    if data.engine == "sqlite" and data.path is not None and workspace.services_data_dir is not None:
        inside = workspace.services_data_dir / data.path.relative_to(workspace.data_dir)
        return database_url(DataLocation.sqlite(inside))
    return database_url(data)


def merge(base: Mapping[str, object], overrides: Mapping[str, object]) -> Tree:
    merged: Tree = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def environment_secret(environment_id: str, key: str) -> str:
    """The value an environment gets in place of production's secret at `key`: its own, stable."""
    digest = hashlib.sha256(f"{environment_id}\0{key}".encode()).hexdigest()[:24]
    return f"stagetui-{environment_id}-{digest}"


def replace_secrets(
    tree: Mapping[str, object], environment_id: str, extra_patterns: Sequence[str] = ()
) -> Tree:
    """Production secrets never reach an environment: each secret gets a value of the environment's own."""

    def walk(node: object, path: str) -> object:
        if isinstance(node, Mapping):
            return {key: walk(value, f"{path}.{key}" if path else str(key)) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, path) for item in node]
        if node is not None and is_secret_key(path, extra_patterns):
            return environment_secret(environment_id, path)
        return node

    result = walk(tree, "")
    assert isinstance(result, dict)
    return result


def render_template(template: Path, variables: Mapping[str, str]) -> Tree:
    """`${NAME}` placeholders filled from `variables`; unknown placeholders stay as they are."""
    try:
        text = string.Template(template.read_text(encoding="utf-8")).safe_substitute(variables)
        data = yaml.load(text, Loader=YAML_LOADER)
    except FileNotFoundError:
        raise ConfigSourceError("config template not found", path=template) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigSourceError(
            f"YAML error: {error}", path=template, line=mark.line + 1 if mark else None
        ) from None
    if not isinstance(data, dict):
        raise ConfigSourceError("a config template must be a mapping of namespaces", path=template)
    return data
