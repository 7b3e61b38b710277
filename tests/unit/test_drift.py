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
        "app.workers.mailer.name": ChangeKind.REMOVED,
        "app.workers.mailer.replicas": ChangeKind.REMOVED,
        "env.LOG_LEVEL": ChangeKind.CHANGED,
        "feature_flags.dark_mode": ChangeKind.ADDED,
        "feature_flags.new_checkout": ChangeKind.CHANGED,
    }
    assert (items["env.LOG_LEVEL"].production, items["env.LOG_LEVEL"].environment) == ("warn", "debug")
    assert (items["feature_flags.dark_mode"].production, items["feature_flags.dark_mode"].environment) == (
        None,
        True,
    )
    assert items["app.workers.mailer.replicas"].environment is None


def test_items_are_sorted_by_path() -> None:
    env = _copy()
    env["zeta"] = 1
    env["alpha"] = 1
    env["env"]["LOG_LEVEL"] = "debug"

    paths = [item.path for item in _drift(env).items]

    assert paths == ["alpha", "env.LOG_LEVEL", "zeta"]


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
        "detail": None,
    }
    assert data["items"][1]["production"] == REDACTED
    assert data["items"][1]["environment"] == REDACTED


def _digest(value: object) -> str:
    """Stands in for the caller's keyed hash; distinct per value, reveals nothing the test looks for."""
    return f"h:{sum(json.dumps(value).encode()) % 65521:04x}"


def test_secret_values_are_digests_and_only_presence_counts_by_default() -> None:
    env = _copy()
    env["env"]["SESSION_SECRET"] = "env-session"
    env["env"]["NEW_TOKEN"] = "tok"

    report = _drift(env, secret_digest=_digest)

    assert [(item.path, item.kind, item.production, item.environment) for item in report.items] == [
        ("env.NEW_TOKEN", ChangeKind.ADDED, None, _digest("tok")),
    ]
    assert report.to_dict()["items"][0]["environment"] == _digest("tok")  # type: ignore[index]


def test_compare_secret_values_reports_a_differing_secret_as_changed_with_digests_only() -> None:
    env = _copy()
    env["env"]["SESSION_SECRET"] = 12345  # also a type change: reported as CHANGED, saying no more
    env["app"]["database"]["url"] = "postgres://app:env-pw@db/shop"

    items = _by_path(_drift(env, secret_digest=_digest, compare_secret_values=True))

    session = items["env.SESSION_SECRET"]
    assert (session.kind, session.secret) == (ChangeKind.CHANGED, True)
    assert (session.production, session.environment) == (_digest("prod-session"), _digest(12345))
    url = items["app.database.url"]  # only the password inside it differs
    assert (url.kind, url.secret, url.production) == (ChangeKind.CHANGED, False, "postgres://app:***@db/shop")
    assert url.detail == (
        f"only a secret inside differs ({_digest('postgres://app:prod-pw@db/shop')} → "
        f"{_digest('postgres://app:env-pw@db/shop')})"
    )
    assert set(items) == {"env.SESSION_SECRET", "app.database.url"}


def test_compare_secret_values_without_a_digest_still_reports_redacted() -> None:
    env = _copy()
    env["env"]["PAYMENT_API_KEY"] = "pk_test"

    (item,) = _drift(env, compare_secret_values=True).items

    assert (item.path, item.production, item.environment) == ("env.PAYMENT_API_KEY", REDACTED, REDACTED)


def test_keys_a_source_declared_secret_hide_their_subtree() -> None:
    prod: dict[str, object] = {"ssm": {"shop": {"stripe_account": "acct_prod", "blob": {"a": "prod-a"}}}}
    env: dict[str, object] = {"ssm": {"shop": {"stripe_account": "acct_env", "blob": {"a": "env-a", "b": 1}}}}
    keys = frozenset({"ssm.shop.stripe_account", "ssm.shop.blob"})

    plain = compute_drift(prod, env, today=TODAY)
    hidden = compute_drift(prod, env, today=TODAY, secret_keys=keys, secret_digest=_digest)
    compared = compute_drift(prod, env, today=TODAY, secret_keys=keys, compare_secret_values=True)

    assert {item.path for item in plain.items} == {
        "ssm.shop.stripe_account",
        "ssm.shop.blob.a",
        "ssm.shop.blob.b",
    }
    assert [(item.path, item.secret, item.environment) for item in hidden.items] == [
        ("ssm.shop.blob.b", True, _digest(1)),
    ]
    assert [(item.path, item.environment) for item in compared.items] == [
        ("ssm.shop.blob.a", REDACTED),
        ("ssm.shop.blob.b", REDACTED),
        ("ssm.shop.stripe_account", REDACTED),
    ]


def test_nothing_secret_reaches_items_or_their_export() -> None:
    prod: dict[str, object] = {
        "db": {
            "password": "S1-prod",
            "url": "postgres://u:S2-prod@h/db",
            "cfg": {"token": "S3-prod", "n": 1},
        },
        "users": [{"name": "alice", "password": "S4-prod"}],
        "ssm": {"opaque": "S5-prod", "listed": ["S6-prod"]},
        "billing": {"account": "S7-prod"},
    }
    env: dict[str, object] = {
        "db": {"password": 99, "url": "postgres://u:S2-env@h2/db", "cfg": "off"},
        "users": [{"name": "alice", "password": "S4-env"}, {"name": "bob", "api_key": "S8-env"}],
        "ssm": {"opaque": "S5-env", "listed": ["S6-env"]},
        "billing": {},
    }
    options: dict[str, Any] = {"secret_patterns": ["billing.account"], "secret_keys": frozenset({"ssm"})}

    for digest in (None, _digest):
        for compare in (False, True):
            report = compute_drift(
                prod, env, today=TODAY, secret_digest=digest, compare_secret_values=compare, **options
            )
            shown = repr(report.items) + json.dumps(report.to_dict())
            assert "users.bob.api_key" in shown
            assert "db.cfg" in shown  # a section became a string: reported whole, its secret hidden
            for number in range(1, 9):
                assert f"S{number}-" not in shown, (digest, compare, number)


def test_approval_records_when_and_where_and_stays_positional() -> None:
    created = dt.date(2024, 6, 1)
    everywhere = Approval("env.*", "debugging", "ana", TODAY, created)
    one_env = Approval("env.*", "debugging", "ana", environment="shop-pr-12")

    assert everywhere.to_dict() == {
        "pattern": "env.*",
        "reason": "debugging",
        "approver": "ana",
        "expires": "2024-06-15",
        "created": "2024-06-01",
        "environment": None,
    }
    assert everywhere.applies_to("anything")
    assert one_env.applies_to("shop-pr-12")
    assert not one_env.applies_to("shop-pr-13")
    env = _copy()
    env["env"]["LOG_LEVEL"] = "debug"
    exported = _drift(env, approvals=[one_env]).to_dict()["items"]
    assert exported[0]["approval"]["environment"] == "shop-pr-12"  # type: ignore[index]
