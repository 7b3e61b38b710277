from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from stagetui.config import ConfigError, StagetuiConfig, load_config, resolve_config_path
from stagetui.config.loader import packaged_sample_config
from stagetui.domain.anonymize import MaskKind

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stagetui.yaml"
    path.write_text(text)
    return path


def _problem(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), environ or {})
    return str(caught.value)


def test_sample_config_loads_and_is_the_packaged_one() -> None:
    config = load_config(ROOT / "sample_config.yaml", {})
    assert config.anonymization.tables["customers"]["email"].rule is MaskKind.FAKE_EMAIL
    assert (ROOT / "sample_config.yaml").read_bytes() == packaged_sample_config().read_bytes()


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _leaf_paths(annotation, f"{prefix}{name}.")
        else:
            paths.append(f"{prefix}{name}")
    return paths


def test_sample_config_sets_and_documents_every_option() -> None:
    text = (ROOT / "sample_config.yaml").read_text()
    data = yaml.safe_load(text)
    lines = text.splitlines()
    for path in _leaf_paths(StagetuiConfig):
        node = data
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"sample_config.yaml does not set {path}"
            node = node[part]
        key = path.split(".")[-1]
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{key}:"))
        assert lines[index - 1].strip().startswith("#"), f"{path} has no comment above it"


def test_every_field_has_a_docstring() -> None:
    def check(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                check(field.annotation)

    check(StagetuiConfig)


def test_unknown_key_names_line_field_and_suggests(tmp_path: Path) -> None:
    message = _problem(tmp_path, "version: 1\norchestrator:\n  max_paralel: 3\n")
    assert (
        "stagetui.yaml:3: orchestrator.max_paralel: unknown key 'max_paralel'; did you mean 'max_parallel'?"
        in message
    )


def test_wrong_values_name_the_line_and_what_was_given(tmp_path: Path) -> None:
    message = _problem(tmp_path, "defaults:\n  strategy: fastest\n  ttl: forever\n")
    assert "stagetui.yaml:2: defaults.strategy" in message and "'fastest'" in message
    assert "stagetui.yaml:3: defaults.ttl" in message and "not a duration" in message


def test_masking_rule_errors_point_at_the_column(tmp_path: Path) -> None:
    text = "anonymization:\n  tables:\n    customers:\n      email: scramble\n      name: {rule: constant}\n"
    message = _problem(tmp_path, text)
    assert "stagetui.yaml:4: anonymization.tables.customers.email" in message
    assert "stagetui.yaml:5: anonymization.tables.customers.name" in message and "needs a value" in message


def test_connection_string_errors_never_quote_the_string(tmp_path: Path) -> None:
    text = (
        "production:\n  postgres: postgresql://reader:hunter2secret@db:5432\n"
        "data:\n  postgres:\n    dsn: 'host=db port=x = hunter2secret'\n"
    )
    message = _problem(tmp_path, text)
    assert "stagetui.yaml:2: production.postgres: the connection string names no database" in message
    assert "stagetui.yaml:5: data.postgres.dsn: not a PostgreSQL connection string" in message
    assert "hunter2secret" not in message


def test_production_is_one_database(tmp_path: Path) -> None:
    text = "production:\n  database: prod.db\n  postgres: postgresql://db/shop\n"
    assert "set one of database (SQLite), postgres and postgres_dump" in _problem(tmp_path, text)


def test_yaml_syntax_and_duplicate_keys(tmp_path: Path) -> None:
    assert "began on line 2" in _problem(tmp_path, "defaults:\n  ttl: [1h\n")
    message = _problem(tmp_path, "owner: a\nowner: b\n")
    assert "stagetui.yaml:2: owner: duplicate key (first defined on line 1)" in message


def test_environment_interpolation(tmp_path: Path) -> None:
    text = "owner: ${TEAM_OWNER}\ndefaults:\n  ttl: ${TTL:-2h}\n"
    config = load_config(_write(tmp_path, text), {"TEAM_OWNER": "alice"})
    assert config.owner == "alice" and config.defaults.ttl.total_seconds() == 7200
    assert "stagetui.yaml:1: owner: environment variable TEAM_OWNER is not set" in _problem(tmp_path, text)


def test_dollar_escape_and_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "drift:\n  secret_patterns: ['cost$$']\n")
    assert load_config(path, {}).drift.secret_patterns == ["cost$"]
    assert "top level must be a mapping" in _problem(tmp_path, "- a\n- b\n")


def test_missing_file_and_relative_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", {})
    config = load_config(_write(tmp_path, "production:\n  database: data/prod.db\n"), {})
    assert config.production.database == (tmp_path / "data" / "prod.db").resolve()


def test_config_path_resolution_order(tmp_path: Path) -> None:
    assert resolve_config_path("x.yaml", {}, tmp_path) == Path("x.yaml")
    assert resolve_config_path(None, {"STAGETUI_CONFIG": "env.yaml"}, tmp_path) == Path("env.yaml")
    assert resolve_config_path(None, {}, tmp_path) == packaged_sample_config()
    (tmp_path / "sample_config.yaml").write_text("version: 1\n")
    assert resolve_config_path(None, {}, tmp_path) == tmp_path / "sample_config.yaml"
    (tmp_path / "stagetui.yaml").write_text("version: 1\n")
    assert resolve_config_path(None, {}, tmp_path) == tmp_path / "stagetui.yaml"
