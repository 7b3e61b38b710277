"""Hostile config files: a config or a ConfigError naming the file, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from stagetui.cli.main import main
from stagetui.config.errors import ConfigError
from stagetui.config.loader import load_config
from stagetui.config.model import StagetuiConfig
from tests.unit.fuzz_settings import fuzz

KEYS = sorted(StagetuiConfig.model_fields)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["1h", "30m", "-1s", "0", "${HOME}", "${UNSET?needed}", "$${x}", "${", "~/x", "../../etc"]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), inner, max_size=4),
    ),
    max_leaves=20,
)
DOCUMENTS = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text(max_size=12), st.integers()), VALUES, max_size=6
)


def _load(path: Path) -> StagetuiConfig | ConfigError:
    try:
        return load_config(path, {"HOME": "/home/x"})
    except ConfigError as error:
        assert error.problems
        assert all(problem.file == path for problem in error.problems)
        assert str(error).startswith(str(path))
        return error


@fuzz(150)
@given(document=DOCUMENTS)
def test_random_documents(tmp_path: Path, document: dict[Any, Any]) -> None:
    path = tmp_path / "stagetui.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _load(path)


@fuzz(150)
@given(document=st.fixed_dictionaries({}, optional={key: VALUES for key in KEYS}))
def test_known_keys_with_random_values(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "stagetui.yaml"
    path.write_text(json.dumps(document, default=str))  # JSON is YAML, and keeps line numbers simple
    _load(path)


YAML_PIECES = st.sampled_from(
    ["a:", " b:", "\n", "  ", "- ", "[", "]", "{", "}", ",", ":", "&x", "*x", "!!str",
     "!!python/name:os.system", "? ", "|", ">", "#", "'", '"', "\\", "\t", "---", "...", "%YAML 1.1",
     "<<: *x", "state_dir:", "owner:", "${X}", "2024-02-30", "0x1f", "1e999", ".nan", "\x00", "\ufeff", "é"]
)  # fmt: skip


@fuzz(200)
@given(text=st.one_of(st.text(max_size=120), st.lists(YAML_PIECES, max_size=30).map("".join)))
def test_random_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "stagetui.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load(path)


@fuzz(30)
@given(data=st.binary(max_size=60))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "stagetui.yaml"
    path.write_bytes(data)
    _load(path)


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Regressions: each of these raised a traceback (or hung) instead of a ConfigError.
        pytest.param(LAUGHS, "more than 100,000 values once aliases are expanded", id="billion-laughs"),
        pytest.param("a: &a [*a]\n", "nested more than 100 levels deep", id="self-alias"),
        pytest.param(
            "a:\n" + "".join("  " * depth + "- b:\n" for depth in range(1, 200)),
            "nested more than 100",
            id="deep",
        ),
        pytest.param("version: 1" + "0" * 5000 + "\n", "unreadable value", id="long-int"),
        pytest.param("state_dir: 2024-02-30\n", "unreadable value: day is out of range", id="bad-date"),
        pytest.param("version: 0x" + "f" * 5000 + "\n", "(got an integer too long to show)", id="long-hex"),
        pytest.param(
            "defaults: {ttl: 1.0e+300}\n", "defaults.ttl: must be a duration of at most", id="huge-ttl"
        ),
        pytest.param("defaults: {ttl: .nan}\n", "defaults.ttl: must be a duration of at most", id="nan-ttl"),
        pytest.param("defaults: {ttl: '99999999999999999999'}\n", "longer than 100 years", id="long-ttl"),
        pytest.param("defaults: {ttl: '²'}\n", "'²' is not a duration", id="superscript-ttl"),
    ],
)
def test_hostile_yaml_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "stagetui.yaml"
    path.write_text(text)
    error = _load(path)
    assert isinstance(error, ConfigError)
    assert message in str(error)


@pytest.mark.parametrize(
    "text",
    [LAUGHS, "version: 0x" + "f" * 5000 + "\n", "strategies: [\n", "version: 2\nbogus: 1\n", "\x00"],
    ids=["billion-laughs", "long-hex", "syntax", "unknown-key", "nul"],
)
def test_bad_config_on_the_cli_writes_nothing(
    tmp_path: Path, state_dir: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    before = sorted(tmp_path.rglob("*"))
    assert main(["--config", str(config), "up", "x"]) == 2
    captured = capsys.readouterr()
    assert "bad.yaml" in captured.err and "Traceback" not in captured.err
    assert not state_dir.exists()
    assert sorted(tmp_path.rglob("*")) == before
