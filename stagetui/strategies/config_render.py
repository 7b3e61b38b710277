"""Rendering an environment's configuration: from production's tree, a snapshot of it, or a template."""

from __future__ import annotations

import copy
import hashlib
import string
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import yaml

from stagetui.domain.secrets import is_secret_key
from stagetui.runtimes.base import Workspace
from stagetui.sources.files import YAML_LOADER, ConfigSourceError

Tree = dict[str, object]


def packaged_template() -> Path:
    return Path(str(resources.files("stagetui") / "sample" / "templates" / "config.yaml"))


def runtime_overrides(environment_id: str, workspace: Workspace) -> Tree:
    """Settings that must differ per environment: its own database."""
    return {"env": {"DATABASE_URL": f"sqlite:///{workspace.database}"}}


def merge(base: Mapping[str, object], overrides: Mapping[str, object]) -> Tree:
    merged: Tree = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


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
            digest = hashlib.sha256(f"{environment_id}\0{path}".encode()).hexdigest()[:24]
            return f"stagetui-{environment_id}-{digest}"
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
