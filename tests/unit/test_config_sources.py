from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stagetui.sources import files
from stagetui.sources.files import ConfigSourceError, load_file, load_tree, write_json_tree


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.yaml", "database:\n  pool_size: 20\n  hosts: [a, b]\nfeature: true\n")

    assert load_file(path) == {"database": {"pool_size": 20, "hosts": ["a", "b"]}, "feature": True}


def test_yml_suffix_and_empty_yaml(tmp_path: Path) -> None:
    assert load_file(_write(tmp_path, "empty.yml", "# nothing yet\n")) == {}


@pytest.mark.parametrize("loader", [yaml.SafeLoader, files.YAML_LOADER], ids=["pure", "preferred"])
def test_yaml_syntax_error_names_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: type[yaml.SafeLoader]
) -> None:
    monkeypatch.setattr(files, "YAML_LOADER", loader)
    path = _write(tmp_path, "app.yaml", "a: 1\nb: 2\n  c: 3\n")

    with pytest.raises(ConfigSourceError) as caught:
        load_file(path)

    assert str(caught.value).startswith("app.yaml:3: ")
    assert caught.value.line == 3


def test_yaml_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigSourceError, match=r"app\.yaml: top level must be a mapping"):
        load_file(_write(tmp_path, "app.yaml", "- a\n- b\n"))


def test_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "flags.json", '{"new_checkout": true, "limits": {"rps": 50}}')

    assert load_file(path) == {"new_checkout": True, "limits": {"rps": 50}}


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "flags.json", '{\n  "a": 1,\n  "b": oops\n}\n')

    with pytest.raises(ConfigSourceError, match=r"^flags\.json:3: invalid JSON"):
        load_file(path)


def test_toml(tmp_path: Path) -> None:
    path = _write(tmp_path, "service.toml", 'name = "shop"\n[server]\nport = 8080\n')

    assert load_file(path) == {"name": "shop", "server": {"port": 8080}}


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigSourceError, match=r"^service\.toml:2: invalid TOML"):
        load_file(_write(tmp_path, "service.toml", 'name = "shop"\nport = \n'))


@pytest.mark.parametrize("name", ["legacy.ini", "legacy.cfg"])
def test_ini_sections_become_maps_with_raw_values(tmp_path: Path, name: str) -> None:
    text = "[DEFAULT]\nRegion = eu\n[logging]\nformat = %(asctime)s %(message)s\n[cache]\nttl = 60\n"

    assert load_file(_write(tmp_path, name, text)) == {
        "DEFAULT": {"Region": "eu"},
        "logging": {"format": "%(asctime)s %(message)s"},
        "cache": {"ttl": "60"},
    }


def test_ini_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigSourceError, match=r"^legacy\.ini:3: invalid INI"):
        load_file(_write(tmp_path, "legacy.ini", "[a]\nx = 1\nnot a pair\n"))


def test_env_file(tmp_path: Path) -> None:
    text = (
        "# database\n"
        "\n"
        "DATABASE_URL=postgres://app:pw@db/shop\n"
        "export LOG_LEVEL=info\n"
        'GREETING="hello world"  # inline comment\n'
        "LITERAL='a \\n b'\n"
        "HASHED=pa#ss\n"
        "NOTE=two words # trailing comment\n"
        "EMPTY=\n"
    )

    assert load_file(_write(tmp_path, ".env", text)) == {
        "DATABASE_URL": "postgres://app:pw@db/shop",
        "LOG_LEVEL": "info",
        "GREETING": "hello world",
        "LITERAL": "a \\n b",
        "HASHED": "pa#ss",
        "NOTE": "two words",
        "EMPTY": "",
    }


def test_named_env_file(tmp_path: Path) -> None:
    assert load_file(_write(tmp_path, "payments.env", "API_KEY=abc\n")) == {"API_KEY": "abc"}


@pytest.mark.parametrize("bad_line", ["JUST_A_WORD", "1BAD=x", 'QUOTE="unterminated', "A B=c"])
def test_env_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str) -> None:
    path = _write(tmp_path, ".env", f"# header\nGOOD=1\n{bad_line}\n")

    with pytest.raises(ConfigSourceError, match=r"^\.env:3: ") as caught:
        load_file(path)

    assert caught.value.line == 3


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigSourceError, match="not found"):
        load_file(tmp_path / "absent.yaml")
    with pytest.raises(ConfigSourceError, match="no such file or directory"):
        load_tree(tmp_path / "absent")
    with pytest.raises(ConfigSourceError, match="unsupported"):
        load_file(_write(tmp_path, "notes.txt", "hi"))


def test_load_tree_namespaces_files_by_stem(tmp_path: Path) -> None:
    _write(tmp_path, "app.yaml", "replicas: 2\n")
    _write(tmp_path, "feature_flags.json", '{"new_checkout": false}')
    _write(tmp_path, ".env", "LOG_LEVEL=warn\n")
    _write(tmp_path, "README.md", "ignored\n")
    (tmp_path / "nested").mkdir()
    _write(tmp_path / "nested", "deep.yaml", "ignored: true\n")

    assert load_tree(tmp_path) == {
        "app": {"replicas": 2},
        "feature_flags": {"new_checkout": False},
        "env": {"LOG_LEVEL": "warn"},
    }


def test_load_tree_of_a_file_is_its_map(tmp_path: Path) -> None:
    assert load_tree(_write(tmp_path, "app.yaml", "a: 1\n")) == {"a": 1}


def test_load_tree_rejects_duplicate_namespaces(tmp_path: Path) -> None:
    _write(tmp_path, "app.yaml", "a: 1\n")
    _write(tmp_path, "app.json", '{"a": 1}')

    with pytest.raises(ConfigSourceError, match=r"'app'.*app\.json.*app\.yaml"):
        load_tree(tmp_path)


def test_load_tree_reports_a_non_mapping_yaml(tmp_path: Path) -> None:
    _write(tmp_path, "list.yaml", "- 1\n")

    with pytest.raises(ConfigSourceError, match=r"list\.yaml"):
        load_tree(tmp_path)


def test_write_json_tree_round_trip(tmp_path: Path) -> None:
    tree: dict[str, object] = {"app": {"replicas": 2, "hosts": ["a", "b"]}, "name": "café", "none": None}
    target = tmp_path / "out" / "tree.json"

    write_json_tree(tree, target)
    write_json_tree(tree, target)  # replacing an existing file works too

    assert json.loads(target.read_text(encoding="utf-8")) == tree
    assert load_file(target) == tree
    assert target.read_text(encoding="utf-8").startswith("{\n  ")
    assert [p.name for p in target.parent.iterdir()] == ["tree.json"]  # no temp file left behind


def test_write_json_tree_keeps_old_file_when_serialisation_fails(tmp_path: Path) -> None:
    target = tmp_path / "tree.json"
    write_json_tree({"a": 1}, target)

    with pytest.raises(TypeError):
        write_json_tree({"a": object()}, target)

    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["tree.json"]
