from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import yaml

from stagetui.domain.drift import Approval, ChangeKind, DriftInputError, DriftReport, compute_drift
from stagetui.domain.tree_diff import MAX_DEPTH, MAX_VALUES, SecretMatcher, diff_trees, flatten

TODAY = dt.date(2024, 6, 15)

SERVERS: dict[str, Any] = {
    "servers": [
        {"name": "web-1", "port": 80, "tags": ["a"]},
        {"name": "web-2", "port": 81, "tags": ["b"]},
    ]
}


def _drift(prod: dict[str, Any], env: dict[str, Any], **options: Any) -> DriftReport:
    return compute_drift(prod, env, today=TODAY, **options)


def _rows(report: DriftReport) -> list[tuple[str, ChangeKind, object, object]]:
    return [(item.path, item.kind, item.production, item.environment) for item in report.items]


def _nested(depth: int) -> dict[str, Any]:
    """A path of `depth` keys ending in a scalar, built without recursion."""
    tree: dict[str, Any] = {}
    node = tree
    for _ in range(depth - 1):
        node["k"] = {}
        node = node["k"]
    node["k"] = 1
    return tree


def test_a_list_of_maps_with_unique_names_is_keyed_by_name() -> None:
    assert flatten(SERVERS) == {
        "servers.web-1.name": "web-1",
        "servers.web-1.port": 80,
        "servers.web-1.tags": ["a"],
        "servers.web-2.name": "web-2",
        "servers.web-2.port": 81,
        "servers.web-2.tags": ["b"],
    }


def test_reordering_a_keyed_list_is_not_drift_and_a_change_names_the_element() -> None:
    env = {
        "servers": [
            {"name": "web-2", "port": 81, "tags": ["b"]},
            {"name": "web-1", "port": 8080, "tags": ["a"]},
        ]
    }

    assert _drift(SERVERS, {"servers": list(reversed(SERVERS["servers"]))}).items == ()
    assert _rows(_drift(SERVERS, env)) == [("servers.web-1.port", ChangeKind.CHANGED, 80, 8080)]


def test_identity_is_the_first_of_name_id_key_present_everywhere_with_unique_values() -> None:
    duplicate_names = [{"name": "w", "id": 1}, {"name": "w", "id": 2}]
    missing_name = [{"name": "a", "key": "k1"}, {"key": "k2"}]
    nothing_unique = [{"id": 1, "v": 1}, {"id": 1, "v": 2}]

    assert set(flatten({"l": duplicate_names})) == {"l.1.name", "l.1.id", "l.2.name", "l.2.id"}
    assert set(flatten({"l": missing_name})) == {"l.k1.name", "l.k1.key", "l.k2.key"}
    assert set(flatten({"l": nothing_unique})) == {"l.0.id", "l.0.v", "l.1.id", "l.1.v"}
    assert set(flatten({"l": [{"name": True}, {"name": False}]})) == {"l.0.name", "l.1.name"}  # not an id


def test_every_drift_path_is_a_flatten_key() -> None:
    prod: dict[str, Any] = {
        "app": {"servers": SERVERS["servers"], "rules": [{"allow": True}], "matrix": [[1, 2], [3]]},
        1: {None: "x", True: "y"},
        "empty": {},
    }

    report = _drift(prod, {})

    assert [item.path for item in report.items] == sorted(flatten(prod))
    assert "1.null" in flatten(prod)
    assert "1.true" in flatten(prod)
    assert "app.matrix.0" in flatten(prod)


def test_approvals_written_against_keyed_paths_apply() -> None:
    env = {
        "servers": [{"name": "web-1", "port": 80, "tags": ["a"]}, {"name": "web-2", "port": 9, "tags": ["b"]}]
    }
    approval = Approval("servers.web-2.port", "maintenance", "ana")

    report = _drift(SERVERS, env, approvals=[approval])

    assert [item.approval for item in report.items] == [approval]
    assert report.ok


def test_a_reordered_list_of_scalars_is_one_change_said_in_words() -> None:
    prod = {"middleware": ["auth", "cors", "gzip"], "hosts": ["a", "b", "c", "d"]}
    env = {"middleware": ["auth", "gzip", "cors"], "hosts": ["a", "c", "x", "y"]}

    items = {item.path: item for item in _drift(prod, env).items}

    assert items["middleware"].kind is ChangeKind.CHANGED
    assert items["middleware"].environment == ["auth", "gzip", "cors"]
    assert items["middleware"].detail == "same 3 items, different order from position 2"
    assert items["hosts"].detail == "added x, y; removed b, d"


def test_a_list_of_scalars_differing_only_in_types_is_not_called_a_reordering() -> None:
    item = _drift({"ports": [1, 2]}, {"ports": [1.0, 2]}).items[0]

    assert item.detail == "added 1.0; removed 1"


def test_a_keyed_list_becoming_empty_is_one_change_with_plain_lists() -> None:
    assert _rows(_drift(SERVERS, {"servers": []})) == [
        ("servers", ChangeKind.CHANGED, SERVERS["servers"], []),
    ]


def test_a_section_replaced_by_a_scalar_is_one_type_change() -> None:
    assert _rows(_drift({"cache": {"ttl": 5, "size": 9}}, {"cache": "off"})) == [
        ("cache", ChangeKind.TYPE_CHANGED, {"ttl": 5, "size": 9}, "off"),
    ]


def test_nan_equals_nan_and_bool_differs_from_int() -> None:
    report = _drift({"ratio": float("nan"), "flag": 1}, {"ratio": float("nan"), "flag": True})

    assert _rows(report) == [("flag", ChangeKind.TYPE_CHANGED, 1, True)]


def test_non_string_keys_become_text_and_colliding_ones_are_refused() -> None:
    tree = yaml.safe_load("2: x\nnull: y\ntrue: z\n2024-01-02: d\n")

    assert flatten(tree) == {"2": "x", "null": "y", "true": "z", "2024-01-02": "d"}
    with pytest.raises(DriftInputError, match=r"production: two keys with the same text .* at `a\.1`"):
        _drift({"a": {1: "x", "1": "y"}}, {})


def test_depth_is_capped_with_the_path_named() -> None:
    assert len(flatten(_nested(MAX_DEPTH))) == 1

    with pytest.raises(
        DriftInputError, match=rf"environment: nesting deeper than {MAX_DEPTH} levels at `k(\.k)*`"
    ):
        _drift({}, _nested(MAX_DEPTH + 1))
    with pytest.raises(DriftInputError, match="nesting deeper"):
        _drift(_nested(50_000), {})  # far beyond the interpreter's recursion limit


def test_a_yaml_reference_cycle_is_refused_with_its_path() -> None:
    cyclic = yaml.safe_load("app:\n  a: &a [*a]\n")

    with pytest.raises(DriftInputError, match=r"production: a reference cycle .* at `app\.a\.0`"):
        _drift(cyclic, {})
    assert issubclass(DriftInputError, ValueError)  # callers treating bad config as ValueError catch it


def test_shared_yaml_anchors_are_fine_until_they_multiply_past_the_limit() -> None:
    shared = yaml.safe_load("base: &b {port: 1}\none: *b\ntwo: *b\n")
    assert flatten(shared) == {"base.port": 1, "one.port": 1, "two.port": 1}

    levels = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for index in range(1, 7):
        levels.append(f"l{index}: &l{index} [{', '.join([f'*l{index - 1}'] * 10)}]")
    bomb = yaml.safe_load("\n".join(levels))  # a few hundred bytes, ten million values
    with pytest.raises(DriftInputError, match=f"environment: more than {MAX_VALUES:,} values"):
        _drift({}, bomb)


def test_the_value_limit_counts_list_items_and_allows_exactly_the_limit() -> None:
    chunk = list(range(1000))
    at_limit = {str(i): chunk for i in range(MAX_VALUES // 1000)}

    assert len(flatten(at_limit)) == MAX_VALUES // 1000
    with pytest.raises(DriftInputError, match=r"config: more than 1,000,000 values .* at `\(top level\)`"):
        flatten({**at_limit, "one_more": 1})


def test_lists_under_a_secret_key_stay_by_index_so_no_value_becomes_a_path() -> None:
    prod = {"api_keys": [{"key": "sk_live_1", "scope": "read"}], "keys": [{"key": "k-prod", "alg": "rsa"}]}
    env = {"api_keys": [{"key": "sk_live_2", "scope": "read"}], "keys": [{"key": "k-env", "alg": "rsa"}]}
    patterns = ["keys.*.key"]

    report = _drift(prod, env, secret_patterns=patterns, compare_secret_values=True)

    assert set(flatten(prod, secret=SecretMatcher(tuple(patterns)))) == {
        "api_keys.0.key",
        "api_keys.0.scope",
        "keys.0.alg",
        "keys.0.key",
    }
    assert [item.path for item in report.items] == ["api_keys.0.key", "keys.0.key"]
    exported = json.dumps(report.to_dict())
    for raw in ("sk_live", "k-prod", "k-env"):
        assert raw not in exported


def test_an_element_named_like_a_secret_is_not_a_secret() -> None:
    prod = {"services": [{"name": "token-service", "port": 1}]}
    env = {"services": [{"name": "token-service", "port": 2}]}

    item = _drift(prod, env).items[0]

    assert (item.path, item.secret, item.production, item.environment) == (
        "services.token-service.port",
        False,
        1,
        2,
    )


def test_a_list_keyed_on_one_side_only_reports_what_flatten_shows() -> None:
    env = {"servers": [{"name": "web-1", "port": 80}, {"name": "web-1", "port": 81}]}  # a duplicated name

    changes = diff_trees(SERVERS, env)

    assert {change.path for change in changes} == set(flatten(SERVERS)) | set(flatten(env))


def test_flatten_uses_dotted_keys_and_keeps_empty_sections_visible() -> None:
    app = {
        "database": {"pool_size": 20},
        "hosts": ["web1", "web2"],
        "workers": [{"name": "mailer", "replicas": 2}],
    }

    assert flatten(app, "app") == {
        "app.database.pool_size": 20,
        "app.hosts": ["web1", "web2"],
        "app.workers.mailer.name": "mailer",
        "app.workers.mailer.replicas": 2,
    }
    assert flatten({"a": {}, "b": {"c": []}}) == {"a": {}, "b.c": []}


def test_a_list_of_scalars_is_one_changed_value() -> None:
    assert _rows(_drift({"hosts": ["web1", "web2"]}, {"hosts": ["web2", "web1", "web3"]})) == [
        ("hosts", ChangeKind.CHANGED, ["web1", "web2"], ["web2", "web1", "web3"]),
    ]


def test_elements_of_a_keyed_list_may_carry_different_fields() -> None:
    prod = {"workers": [{"name": "mailer", "replicas": 2}]}
    env = {"workers": [{"name": "indexer"}, {"name": "mailer", "replicas": 3}]}

    assert _rows(_drift(prod, env)) == [
        ("workers.indexer.name", ChangeKind.ADDED, None, "indexer"),
        ("workers.mailer.replicas", ChangeKind.CHANGED, 2, 3),
    ]


def test_lists_of_maps_without_identity_are_compared_per_index() -> None:
    prod = {"rules": [{"path": "/a", "allow": True}, {"path": "/b", "allow": True}]}
    env = {"rules": [{"path": "/a", "allow": True}, {"path": "/b", "allow": False}]}

    assert _rows(_drift(prod, env)) == [("rules.1.allow", ChangeKind.CHANGED, True, False)]


def test_maps_sharing_few_keys_are_still_compared_key_by_key() -> None:
    assert _rows(_drift({"s": {"a": 1}}, {"s": {"b": 1}})) == [
        ("s.a", ChangeKind.REMOVED, 1, None),
        ("s.b", ChangeKind.ADDED, None, 1),
    ]


def test_ten_thousand_keys() -> None:
    production = {f"service{i}": {f"key{j}": j for j in range(100)} for i in range(100)}
    environment = {name: dict(values) for name, values in production.items()}
    for i in range(0, 100, 10):
        environment[f"service{i}"]["key7"] = -1
    del environment["service99"]["key0"]

    report = _drift(production, environment)

    assert len(flatten(production)) == 10_000
    assert report.count == 11
    assert report.items[0].path == "service0.key7"
    assert _rows(report)[-1] == ("service99.key0", ChangeKind.REMOVED, 0, None)
