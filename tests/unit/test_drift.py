from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from stagetui.domain.drift import (
    Approval,
    ChangeKind,
    DriftItem,
    DriftReport,
    Severity,
    SeverityRule,
    compute_drift,
)
from stagetui.domain.secrets import REDACTED
from stagetui.domain.tree_diff import flatten

TODAY = dt.date(2024, 6, 15)

PRODUCTION: dict[str, object] = {
    "app": {
        "database": {"pool_size": 20, "url": "postgres://app:prod-pw@db/shop", "password": "prod-pw"},
        "hosts": ["web1", "web2"],
        "workers": [{"name": "mailer", "replicas": 2}],
    },
    "feature_flags": {"new_checkout": True},
    "env": {"SESSION_SECRET": "prod-session", "PAYMENT_API_KEY": "pk_live", "LOG_LEVEL": "warn"},
}


def _drift(environment: Mapping[str, object], **options: Any) -> DriftReport:
    return compute_drift(PRODUCTION, environment, today=TODAY, **options)


def _copy() -> dict[str, Any]:
    """A deep copy typed loosely, so tests can edit nested values in place."""
    copied: dict[str, Any] = json.loads(json.dumps(PRODUCTION))
    return copied


def _by_path(report: DriftReport) -> dict[str, DriftItem]:
    return {item.path: item for item in report.items}


def test_flatten_uses_dotted_keys_and_index_segments_for_lists_of_maps() -> None:
    assert flatten(_copy()["app"], "app") == {
        "app.database.pool_size": 20,
        "app.database.url": "postgres://app:prod-pw@db/shop",
        "app.database.password": "prod-pw",
        "app.hosts": ["web1", "web2"],
        "app.workers.0.name": "mailer",
        "app.workers.0.replicas": 2,
    }


def test_flatten_keeps_empty_sections_visible() -> None:
    assert flatten({"a": {}, "b": {"c": []}}) == {"a": {}, "b.c": []}


def test_identical_trees_have_no_drift() -> None:
    report = _drift(_copy())

    assert report.items == ()
    assert report.ok
    assert report.worst is None


def test_changed_added_removed_and_type_changed() -> None:
    env = _copy()
    env["app"]["database"]["pool_size"] = "20"
    env["feature_flags"] = {"new_checkout": False, "dark_mode": True}
    env["env"]["LOG_LEVEL"] = "debug"
    del env["app"]["workers"]

    items = _by_path(_drift(env))

    assert {path: item.kind for path, item in items.items()} == {
        "app.database.pool_size": ChangeKind.TYPE_CHANGED,
        "app.workers.0.name": ChangeKind.REMOVED,
        "app.workers.0.replicas": ChangeKind.REMOVED,
        "env.LOG_LEVEL": ChangeKind.CHANGED,
        "feature_flags.dark_mode": ChangeKind.ADDED,
        "feature_flags.new_checkout": ChangeKind.CHANGED,
    }
    assert (items["env.LOG_LEVEL"].production, items["env.LOG_LEVEL"].environment) == ("warn", "debug")
    assert (items["feature_flags.dark_mode"].production, items["feature_flags.dark_mode"].environment) == (
        None,
        True,
    )
    assert items["app.workers.0.replicas"].environment is None


def test_items_are_sorted_by_path() -> None:
    env = _copy()
    env["zeta"] = 1
    env["alpha"] = 1
    env["env"]["LOG_LEVEL"] = "debug"

    paths = [item.path for item in _drift(env).items]

    assert paths == ["alpha", "env.LOG_LEVEL", "zeta"]


def test_a_list_of_scalars_is_one_changed_value() -> None:
    env = _copy()
    env["app"]["hosts"] = ["web2", "web1", "web3"]

    report = _drift(env)

    assert len(report.items) == 1
    item = report.items[0]
    assert (item.path, item.kind) == ("app.hosts", ChangeKind.CHANGED)
    assert (item.production, item.environment) == (["web1", "web2"], ["web2", "web1", "web3"])


def test_lists_of_maps_are_compared_per_index() -> None:
    env = _copy()
    env["app"]["workers"] = [{"name": "mailer", "replicas": 3}, {"name": "indexer"}]

    items = _by_path(_drift(env))

    assert set(items) == {"app.workers.0.replicas", "app.workers.1.name"}
    assert items["app.workers.1.name"].kind is ChangeKind.ADDED


def test_maps_sharing_few_keys_are_still_compared_key_by_key() -> None:
    report = compute_drift({"s": {"a": 1}}, {"s": {"b": 1}}, today=TODAY)

    assert [(item.path, item.kind) for item in report.items] == [
        ("s.a", ChangeKind.REMOVED),
        ("s.b", ChangeKind.ADDED),
    ]


def test_severity_rules_first_match_wins_and_default_applies() -> None:
    env = _copy()
    env["app"]["database"]["pool_size"] = 5
    env["feature_flags"] = {"new_checkout": False}
    env["env"]["LOG_LEVEL"] = "debug"
    rules = [
        SeverityRule("app.database.*", Severity.CRITICAL),
        SeverityRule("app.*", Severity.INFO),
        SeverityRule("feature_flags.*", Severity.MAJOR),
    ]

    report = _drift(env, severity_rules=rules, default_severity=Severity.INFO)
    items = _by_path(report)

    assert items["app.database.pool_size"].severity is Severity.CRITICAL
    assert items["feature_flags.new_checkout"].severity is Severity.MAJOR
    assert items["env.LOG_LEVEL"].severity is Severity.INFO
    assert report.worst is Severity.CRITICAL
    assert _by_path(_drift(env))["env.LOG_LEVEL"].severity is Severity.MINOR


def test_severity_rank_orders_from_info_to_critical() -> None:
    ordered = [Severity.INFO, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL]
    assert [severity.rank for severity in ordered] == [0, 1, 2, 3]
    assert Severity.MAJOR.at_least(Severity.MINOR)
    assert not Severity.INFO.at_least(Severity.MINOR)


def test_approvals_cover_items_expired_ones_count_again_and_unused_ones_are_stale() -> None:
    env = _copy()
    env["app"]["database"]["pool_size"] = 5
    env["feature_flags"] = {"new_checkout": False}
    env["env"]["LOG_LEVEL"] = "debug"
    valid = Approval("app.database.pool_size", "smaller box", "ana", expires=TODAY)  # last valid day
    expired = Approval("feature_flags.*", "testing", "bo", expires=TODAY - dt.timedelta(days=1))
    stale = Approval("app.cache.*", "old", "cy")
    rules = [SeverityRule("feature_flags.*", Severity.MAJOR)]

    report = _drift(env, approvals=[valid, expired, stale], severity_rules=rules)
    items = _by_path(report)

    assert items["app.database.pool_size"].approval == valid
    assert items["feature_flags.new_checkout"].approval is None
    assert items["env.LOG_LEVEL"].approval is None
    assert report.expired_approvals == (expired,)
    assert report.stale_approvals == (stale,)
    assert (report.count, report.approved_count, report.worst) == (2, 1, Severity.MAJOR)
    assert not report.ok
    assert report.summary().startswith("2 unapproved (worst: major), 1 approved")


def test_approval_expires_after_its_last_day() -> None:
    env = _copy()
    env["env"]["LOG_LEVEL"] = "debug"
    approval = Approval("env.LOG_LEVEL", "debugging", "ana", expires=TODAY)

    assert _drift(env, approvals=[approval]).ok
    later = compute_drift(PRODUCTION, env, approvals=[approval], today=TODAY + dt.timedelta(days=1))
    assert not later.ok
    assert later.expired_approvals == (approval,)


def test_secret_value_changes_are_not_drift_but_presence_is() -> None:
    env = _copy()
    env["app"]["database"]["password"] = "env-pw"
    env["app"]["database"]["url"] = "postgres://app:env-pw@db/shop"
    env["env"]["SESSION_SECRET"] = 12345
    del env["env"]["PAYMENT_API_KEY"]
    env["env"]["NEW_TOKEN"] = "tok"

    report = _drift(env)

    assert [(item.path, item.kind, item.secret) for item in report.items] == [
        ("env.NEW_TOKEN", ChangeKind.ADDED, True),
        ("env.PAYMENT_API_KEY", ChangeKind.REMOVED, True),
    ]
    assert [(item.production, item.environment) for item in report.items] == [
        (None, REDACTED),
        (REDACTED, None),
    ]


def test_secrets_never_leave_compute_drift() -> None:
    prod: dict[str, object] = {
        "db": {"url": "postgres://app:prod-pw@db/shop", "credentials": {"user": "u", "pass": "prod-pw"}},
        "svc": {"api": {"timeout": 5}},
        "billing": {"account": "acct-prod-pw"},
    }
    env: dict[str, object] = {
        "db": {"url": "postgres://app:env-pw@db2/shop", "credentials": "env-pw"},
        "svc": {"api": {"timeout": 5, "auth": {"token": "env-pw"}}},
        "billing": {"account": "acct-env-pw", "plan": "pro"},
    }

    report = compute_drift(prod, env, today=TODAY, secret_patterns=["billing.account"])

    values = json.dumps([[item.production, item.environment] for item in report.items])
    exported = json.dumps(report.to_dict())
    for text in (values, exported):
        assert "prod-pw" not in text
        assert "env-pw" not in text
    assert "db.url" in exported  # the host changed, so the URL is still reported
    assert "svc.api.auth.token" in exported
    assert "billing.plan" in exported
    assert "billing.account" not in exported  # a secret whose value differs is not drift


def test_to_dict_is_json_safe_and_redacts_secret_items() -> None:
    env = _copy()
    env["app"]["released"] = dt.date(2024, 1, 2)
    handmade = DriftItem("env.X_TOKEN", ChangeKind.CHANGED, "raw-a", "raw-b", Severity.MAJOR, True, None)
    report = _drift(env)
    combined = DriftReport((*report.items, handmade), (), ())

    data = json.loads(json.dumps(combined.to_dict()))

    assert data["count"] == 2
    assert data["items"][0] == {
        "path": "app.released",
        "kind": "added",
        "production": None,
        "environment": "2024-01-02",
        "severity": "minor",
        "secret": False,
        "approval": None,
    }
    assert data["items"][1]["production"] == REDACTED
    assert data["items"][1]["environment"] == REDACTED


def test_ten_thousand_keys() -> None:
    production = {f"service{i}": {f"key{j}": j for j in range(100)} for i in range(100)}
    environment = {name: dict(values) for name, values in production.items()}
    for i in range(0, 100, 10):
        environment[f"service{i}"]["key7"] = -1
    del environment["service99"]["key0"]

    report = compute_drift(production, environment, today=TODAY)

    assert len(flatten(production)) == 10_000
    assert report.count == 11
    assert report.items[0].path == "service0.key7"
    removed = DriftItem("service99.key0", ChangeKind.REMOVED, 0, None, Severity.MINOR, False, None)
    assert report.items[-1] == removed
