"""The environment's configuration as ConfigMaps and Secrets, and the variables each container gets.

A value goes to the Secret when its key looks secret (`domain.secrets`, plus the config's extra patterns)
or it carries a password (a URL's userinfo, `password=`); everything else to the ConfigMap. The rendered
config.json file is a ConfigMap unless it holds a secret anywhere, then a Secret: a secret value never
lands in a ConfigMap or an annotation, and notes name keys, never values.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stagetui.compose.model import ComposeProject
from stagetui.domain.secrets import is_secret_key, redact_node, redact_value
from stagetui.runtimes.kubernetes.metadata import EnvironmentMetadata, Json
from stagetui.runtimes.kubernetes.names import is_data_key

VARIABLES = "stagetui-env"
"""ConfigMap of the config's non-secret `env` variables."""
SECRETS = "stagetui-secrets"
"""Secret of the secret variables: the config's (by name) and the compose file's (`SERVICE.NAME`)."""
CONFIG_FILE = "stagetui-config"
"""ConfigMap (or Secret) holding config.json, mounted where the compose file mounts its config volume."""
CONFIG_FILE_KEY = "config.json"
ENV_ID_VARIABLE = "STAGETUI_ENV_ID"


def is_secret_variable(name: str, value: str, patterns: Sequence[str]) -> bool:
    return is_secret_key(f"env.{name}", patterns) or redact_value(value) != value


def holds_secrets(config_json: str, patterns: Sequence[str]) -> bool:
    """True when any key of the config is secret or any string in it carries a password; a file that is
    not JSON counts as secret (it cannot be checked)."""
    try:
        tree: object = json.loads(config_json)
    except ValueError:
        return True
    return bool(redact_node(tree, "", patterns) != tree)


@dataclass(frozen=True)
class Configuration:
    env: dict[str, list[Json]]
    """Compose service -> its container's `env`."""
    variables: dict[str, str]
    secrets: dict[str, str]
    config_file: str | None
    config_file_secret: bool
    notes: dict[str, list[str]]
    """Compose service -> what of its variables could not be rendered."""

    def objects(self, meta: EnvironmentMetadata) -> list[Json]:
        found: list[Json] = []
        if self.variables:
            found.append(_config_map(meta, VARIABLES, self.variables))
        if self.secrets:
            found.append(_secret(meta, SECRETS, self.secrets))
        if self.config_file is not None:
            data = {CONFIG_FILE_KEY: self.config_file}
            maker = _secret if self.config_file_secret else _config_map
            found.append(maker(meta, CONFIG_FILE, data))
        return found

    def config_volume(self) -> Json | None:
        """The pod volume source of the config volume; None when there is no config.json to mount."""
        if self.config_file is None:
            return None
        if self.config_file_secret:
            return {"secret": {"secretName": CONFIG_FILE}}
        return {"configMap": {"name": CONFIG_FILE}}


def configuration(
    project: ComposeProject,
    environment_id: str,
    variables: Mapping[str, str],
    config_json: str | None,
    patterns: Sequence[str],
) -> Configuration:
    """Every service's variables from the compose file, the config service's also from the environment's
    config (over the file's, as the docker runtime does), with STAGETUI_ENV_ID set."""
    env: dict[str, list[Json]] = {}
    plain: dict[str, str] = {}
    secrets: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for spec in project.services.values():
        entries: dict[str, Json] = {}
        from_config = variables if spec.name == project.config_service else {}
        sources = [
            *((name, value, f"{spec.name}.{name}", False) for name, value in spec.environment.items()),
            *((name, value, name, True) for name, value in from_config.items()),
        ]
        for name, value, key, configured in sources:
            if is_secret_variable(name, value, patterns):
                store, source, kind = secrets, SECRETS, "secretKeyRef"
            elif configured:
                store, source, kind = plain, VARIABLES, "configMapKeyRef"
            else:
                entries[name] = {"name": name, "value": value}
                continue
            if is_data_key(key):
                store[key] = value
                entries[name] = _reference(name, source, kind, key)
            elif store is plain:  # not a ConfigMap key: given as it is
                entries[name] = {"name": name, "value": value}
            else:
                notes.setdefault(spec.name, []).append(f"variable {name}: secret, but no valid Secret key")
                entries.pop(name, None)
        if spec.name == project.config_service:
            entries[ENV_ID_VARIABLE] = {"name": ENV_ID_VARIABLE, "value": environment_id}
        env[spec.name] = list(entries.values())
    secret_file = config_json is not None and holds_secrets(config_json, patterns)
    return Configuration(env, plain, secrets, config_json, secret_file, notes)


def _reference(name: str, source: str, kind: str, key: str | None = None) -> Json:
    return {"name": name, "valueFrom": {kind: {"name": source, "key": key or name}}}


def _config_map(meta: EnvironmentMetadata, name: str, data: Mapping[str, str]) -> Json:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta.object_meta(name), "data": dict(data)}


def _secret(meta: EnvironmentMetadata, name: str, data: Mapping[str, str]) -> Json:
    encoded = {key: base64.b64encode(value.encode("utf-8")).decode("ascii") for key, value in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta.object_meta(name),
        "type": "Opaque",
        "data": encoded,
    }
