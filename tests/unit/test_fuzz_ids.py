"""Hostile branch names: a clear InvalidBranchError or a DNS-1123 id, stable and collision-free."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from stagetui.domain.ids import (
    MAX_BRANCH_LENGTH,
    InvalidBranchError,
    environment_id,
    is_valid_id,
    slugify,
    validate_branch,
)
from stagetui.domain.models import Environment, EnvironmentStatus, Strategy
from stagetui.runtimes.aws.inventory import aws_tags
from stagetui.runtimes.base import environment_labels
from stagetui.runtimes.kubernetes.metadata import DOMAIN, environment_metadata
from tests.unit.fuzz_settings import fuzz

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HOSTILE = st.sampled_from(
    [
        "../",
        "..",
        "/",
        "\\",
        "\x00",
        "\n",
        "\r",
        "\t",
        "\u202e",
        "\u200b",
        "\u2028",
        "$(",
        "`",
        ";",
        "|",
        "&",
        "'",
        '"',
        "--",
        "-",
        " ",
        "*",
        "%",
        "{",
        "}",
        "=",
        "DROP TABLE x;",
        "ﬁ",
        "é",
        "İ",
        "ß",
        "Ⅻ",
        "🙂",
        "x",
        "A",
        "0",
    ]
)
BRANCHES = st.one_of(
    st.text(max_size=80),
    st.lists(_HOSTILE, max_size=30).map("".join),
    st.text(alphabet="ab-/._ ", min_size=1, max_size=30),
    st.text(min_size=MAX_BRANCH_LENGTH - 2, max_size=MAX_BRANCH_LENGTH + 2),
)
STRATEGIES = st.sampled_from(list(Strategy))


def _id_or_error(branch: str, strategy: Strategy) -> str | None:
    try:
        return environment_id(branch, strategy)
    except InvalidBranchError as error:
        assert str(error), "an InvalidBranchError says why"
        return None


@fuzz(300)
@given(branch=BRANCHES, strategy=STRATEGIES)
def test_any_branch_gives_a_dns_label_or_a_clear_error(branch: str, strategy: Strategy) -> None:
    identifier = _id_or_error(branch, strategy)
    if identifier is None:
        with pytest.raises(InvalidBranchError):
            validate_branch(branch)
        return
    assert validate_branch(branch) == branch
    assert is_valid_id(identifier)
    assert _DNS_LABEL.fullmatch(identifier) and len(identifier) <= 63
    assert environment_id(branch, strategy) == identifier, "the same branch always gives the same id"


@fuzz(200)
@given(branch=BRANCHES, max_length=st.integers(0, 80))
def test_slugify_is_only_letters_digits_and_inner_hyphens(branch: str, max_length: int) -> None:
    slug = slugify(branch, max_length)
    assert re.fullmatch(r"([a-z0-9]+(-[a-z0-9]+)*)?", slug)
    assert len(slug) <= max_length


@fuzz(200)
@given(
    first=st.text(alphabet="aB-/._ ", min_size=1, max_size=12),
    second=st.text(alphabet="aB-/._ ", min_size=1, max_size=12),
    strategy=STRATEGIES,
)
def test_branches_that_slugify_alike_still_get_different_ids(
    first: str, second: str, strategy: Strategy
) -> None:
    assume(first != second)
    one, other = _id_or_error(first, strategy), _id_or_error(second, strategy)
    assume(one is not None and other is not None)
    assert one != other


@fuzz(100)
@given(branch=BRANCHES, strategies=st.lists(STRATEGIES, min_size=2, max_size=2, unique=True))
def test_strategies_of_one_branch_get_different_ids(branch: str, strategies: list[Strategy]) -> None:
    ids = {_id_or_error(branch, strategy) for strategy in strategies}
    assert len(ids) == 2 or ids == {None}


def _label_value_ok(value: str) -> bool:
    # Docker label values go through JSON and Go strings: a NUL or control character is cut or refused.
    return all(ord(char) >= 0x20 and ord(char) != 0x7F for char in value) and "\x00" not in value


OWNERS = st.from_regex(r"[\w.@-]{1,64}", fullmatch=True)
"""What the config accepts as `owner:`."""


def _environment(branch: str, owner: str, strategy: Strategy) -> Environment | None:
    identifier = _id_or_error(branch, strategy)
    if identifier is None:
        return None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Environment(
        uid="0" * 32,
        id=identifier,
        branch=branch,
        strategy=strategy,
        runtime="docker",
        owner=owner,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        status=EnvironmentStatus.PROVISIONING,
    )


@fuzz(200)
@given(branch=BRANCHES, owner=OWNERS, strategy=STRATEGIES)
def test_labels_are_valid_docker_label_values(branch: str, owner: str, strategy: Strategy) -> None:
    env = _environment(branch, owner, strategy)
    assume(env is not None)
    assert env is not None
    for key, value in environment_labels(env).items():
        assert re.fullmatch(r"stagetui\.[a-z0-9_.-]+", key)
        assert _label_value_ok(value), (key, value)


_K8S_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_K8S_KEY = re.compile(r"([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


@fuzz(150)
@given(branch=BRANCHES, owner=st.text(max_size=80), strategy=STRATEGIES)
def test_aws_tags_and_kubernetes_labels_are_sanitised(branch: str, owner: str, strategy: Strategy) -> None:
    # Unlike Docker, AWS and Kubernetes have a grammar for values: whatever the branch or owner, it holds.
    env = _environment(branch, owner, strategy)
    assume(env is not None)
    assert env is not None
    for key, value in aws_tags(environment_labels(env)).items():
        assert all(char.isalnum() or char in "_.:/=+-@ " for char in key + value), (key, value)
        assert len(key) <= 128 and len(value) <= 256
    metadata = environment_metadata(env, "stagetui-env")
    for key, value in metadata.labels.items():
        assert _K8S_KEY.fullmatch(key) and len(value) <= 63 and _K8S_VALUE.fullmatch(value), (key, value)
    key = f"{DOMAIN}/branch"
    assert metadata.annotations.get(key, metadata.labels[key]) == branch, "kept verbatim where it was cleaned"
