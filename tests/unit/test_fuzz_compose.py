"""Hostile compose files: a ComposeProject or a ComposeError naming the file and a line, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from stagetui.compose.deploy import DEPLOY_KEYS
from stagetui.compose.healthcheck import HEALTHCHECK_KEYS
from stagetui.compose.model import ComposeProject
from stagetui.compose.parse import ComposeError, load_compose
from stagetui.compose.service import SERVICE_KEYS
from tests.unit.fuzz_settings import fuzz

NAMES = st.sampled_from(["web", "db", "cache", "Bad Name", "", "../x", "x" * 70])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=15),
    st.sampled_from(
        ["8080", "8080:80", "127.0.0.1:80:80/udp", "80-81:80-82", "0:0", "65536", "data:/data:ro", "/abs:/x",
         "service_healthy", "pg_isready", "CMD-SHELL", "10s", "-1s", "1.5", "512M", "${X}", "${X:?unset}",
         "$$HOME", "web", "db", "data", "backend", "default", "node.role==manager"]
    ),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(NAMES, st.text(max_size=8)), inner, max_size=3)
    ),
    max_leaves=10,
)


def _section(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=6)), VALUES, max_size=4)


SERVICE = st.fixed_dictionaries(
    {},
    optional={
        **{key: VALUES for key in SERVICE_KEYS},
        "image": st.one_of(st.just("busybox:1"), SCALARS),
        "healthcheck": st.one_of(_section(HEALTHCHECK_KEYS), VALUES),
        "deploy": st.one_of(_section(DEPLOY_KEYS), VALUES),
        "depends_on": st.one_of(st.lists(NAMES, max_size=3), st.dictionaries(NAMES, VALUES, max_size=2)),
        "ports": st.lists(SCALARS, max_size=3),
        "volumes": st.lists(st.one_of(SCALARS, VALUES), max_size=3),
        "x-extra": VALUES,
    },
)
PROJECTS = st.fixed_dictionaries(
    {"services": st.one_of(st.dictionaries(NAMES, SERVICE, min_size=1, max_size=3), VALUES)},
    optional={
        "name": st.one_of(NAMES, SCALARS),
        "version": SCALARS,
        "volumes": st.one_of(st.dictionaries(NAMES, st.one_of(st.none(), VALUES), max_size=2), VALUES),
        "networks": st.one_of(st.dictionaries(NAMES, st.one_of(st.none(), VALUES), max_size=2), VALUES),
        "x-stagetui": st.one_of(
            st.fixed_dictionaries(
                {
                    "endpoint": st.fixed_dictionaries(
                        {"service": NAMES, "port": st.one_of(st.integers(), SCALARS)}
                    )
                },
                optional={"data_volume": NAMES, "config_volume": NAMES, "config_service": NAMES},
            ),
            VALUES,
        ),
        "configs": VALUES,
        "x-other": VALUES,
    },
)
NO_LINE = ("YAML error", "unreadable value", "cannot read")
"""Errors about the file as a whole, raised before any line is known."""


def _load(path: Path) -> ComposeProject | ComposeError:
    try:
        return load_compose(path, {"X": "1"})
    except ComposeError as error:
        assert error.path == path
        assert str(error).startswith(str(path))
        assert error.line is not None or error.message.startswith(NO_LINE), str(error)
        return error


@fuzz(250)
@given(project=PROJECTS)
def test_random_projects(tmp_path: Path, project: dict[str, Any]) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(project, allow_unicode=True))
    _load(path)


YAML_PIECES = st.sampled_from(
    ["services:", "\n", "  ", "web:", "image: x", "- ", "[", "]", "{", "}", ",", ":", "&x", "*x", "<<: *x",
     "!!binary", "? ", "|", "#", "'", '"', "x-stagetui:", "endpoint:", "port: 80", "ports: [80]", "0o777",
     "22:22", "yes", "1e999", "\x00", "é"]
)  # fmt: skip


@fuzz(200)
@given(text=st.one_of(st.text(max_size=120), st.lists(YAML_PIECES, max_size=30).map("".join)))
def test_random_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load(path)


def _web(line: str) -> str:
    return (
        f"services:\n  web:\n    image: busybox\n    ports: ['80']\n    {line}\n"
        "x-stagetui: {endpoint: {service: web, port: 80}}\n"
    )


LAUGHS = "x-a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"x-{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Regressions: each of these raised a traceback (or hung) instead of a ComposeError.
        pytest.param(LAUGHS, "more than 100,000 values once aliases are expanded", id="billion-laughs"),
        pytest.param("x-a: &a [*a]\n", "nested more than 100 levels deep", id="self-alias"),
        pytest.param("services: 1" + "0" * 5000 + "\n", "unreadable value", id="long-int"),
        pytest.param("services: 0x" + "f" * 5000 + "\n", "(got an integer too long to show)", id="long-hex"),
        pytest.param(_web("labels: {a: 0x" + "f" * 5000 + "}"), "must be a shorter number", id="long-label"),
        pytest.param(
            _web("deploy: {resources: {limits: {memory: " + "9" * 400 + "M}}}"),
            "must be an amount of memory such as 256M or 1G (got '99999",
            id="huge-memory",
        ),
        pytest.param(_web("deploy: {resources: {limits: {cpus: 1e999}}}"), "(got inf)", id="infinite-cpus"),
        pytest.param(_web("deploy: {resources: {limits: {cpus: .nan}}}"), "(got nan)", id="nan-cpus"),
    ],
)
def test_hostile_yaml_is_a_compose_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    error = _load(path)
    assert isinstance(error, ComposeError)
    assert message in str(error)


def test_a_yaml_1_1_date_that_does_not_exist_is_still_a_string_in_compose(tmp_path: Path) -> None:
    # Compose reads YAML 1.2, where `2024-02-30` is a string: the line index must not build it as a date.
    path = tmp_path / "shop.yaml"
    path.write_text(
        "services:\n  web:\n    image: busybox\n    ports: ['80']\n    labels: {released: 2024-02-30}\n"
        "x-stagetui: {endpoint: {service: web, port: 80}}\n"
    )
    project = _load(path)
    assert isinstance(project, ComposeProject), str(project)
