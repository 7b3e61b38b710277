from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagetui.domain.ids import InvalidBranchError, environment_id, is_valid_id, slugify, validate_branch
from stagetui.domain.models import Strategy


def test_hostile_branch_becomes_a_safe_id() -> None:
    env_id = environment_id("feat/Ünïcode$(rm -rf)", Strategy.CONTAINERIZED)
    assert env_id.startswith("feat-unicode-rm-rf-ctr-")
    assert is_valid_id(env_id)


def test_branches_that_slugify_alike_get_different_ids() -> None:
    assert slugify("feat/x") == slugify("feat-x") == slugify("FEAT_X")
    ids = {environment_id(b, Strategy.SNAPSHOT) for b in ("feat/x", "feat-x", "FEAT_X")}
    assert len(ids) == 3


def test_same_branch_and_strategy_give_the_same_id_and_strategies_differ() -> None:
    assert environment_id("main", Strategy.FULL_CLONE) == environment_id("main", Strategy.FULL_CLONE)
    assert len({environment_id("main", s) for s in Strategy}) == 3


def test_long_and_symbol_only_branches_still_give_bounded_ids() -> None:
    assert len(environment_id("x" * 200, Strategy.FULL_CLONE)) <= 63
    assert environment_id("日本語/$$$", Strategy.SNAPSHOT).startswith("env-snap-")


@pytest.mark.parametrize(
    ("branch", "reason"), [("", "empty"), ("   ", "empty"), ("a\nb", "control"), ("x" * 201, "longer")]
)
def test_unusable_branches_are_refused_with_the_reason(branch: str, reason: str) -> None:
    with pytest.raises(InvalidBranchError, match=reason):
        validate_branch(branch)


@given(st.text(min_size=1, max_size=200).filter(lambda b: b.strip()), st.sampled_from(list(Strategy)))
def test_any_acceptable_branch_gives_a_dns_label(branch: str, strategy: Strategy) -> None:
    try:
        validate_branch(branch)
    except InvalidBranchError:
        return
    env_id = environment_id(branch, strategy)
    assert is_valid_id(env_id)
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in env_id)
