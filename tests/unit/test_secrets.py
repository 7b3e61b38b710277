from __future__ import annotations

import pytest

from stagetui.domain.secrets import REDACTED, is_secret_key, redact_flat, redact_tree, redact_value


@pytest.mark.parametrize(
    "key",
    [
        "app.database.password",
        "app.db_password",
        "app.DBPASSWORD",
        "app.passwd",
        "ftp.pwd",
        "app.client_secret",
        "app.secret",
        "auth.token",
        "auth.accessToken",
        "api_key",
        "stripe.apikey",
        "stripe.api-key",
        "stripe.apiKey",
        "tls.private_key",
        "aws.credentials",
        "aws.credential",
        "env.PAYMENT_API_KEY",
        "env.SESSION_SECRET",
        "env.ENCRYPTION_KEY",
        "env.SECRET_KEY_BASE",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "cache.key_prefix",
        "ui.keyboard_layout",
        "app.database.pool_size",
        "env.DATABASE_HOST",
        "feature_flags.new_checkout",
        "nlp.tokenizer_model",
        "auth.passwordless_login",
        "cache.key",
        "password_policy.min_length",
    ],
)
def test_harmless_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_only_the_last_segment_names_the_secret() -> None:
    assert not is_secret_key("secrets_store.region")
    assert is_secret_key("region.secret")


def test_extra_patterns_match_the_full_dotted_key_case_insensitively() -> None:
    assert not is_secret_key("billing.stripe_account")
    assert is_secret_key("billing.stripe_account", ["billing.stripe_*"])
    assert is_secret_key("env.STRIPE_ACCOUNT", ["env.stripe_*"])
    assert not is_secret_key("other.stripe_account", ["billing.*"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://app:s3cret@db:5432/shop", "postgres://app:***@db:5432/shop"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("amqp://guest:p@ss@mq/vhost", "amqp://guest:***@mq/vhost"),
        ("host=db user=app password=s3cret", "host=db user=app password=***"),
        (
            "jdbc:postgresql://db/shop?user=app&password=s3cret&ssl=true",
            "jdbc:postgresql://db/shop?user=app&password=***&ssl=true",
        ),
    ],
)
def test_redact_value_hides_passwords_in_strings(raw: str, expected: str) -> None:
    assert redact_value(raw) == expected


@pytest.mark.parametrize(
    "value",
    ["postgres://app@db/shop", "http://host:8080/path?mail=a@b.c", "plain text", 42, None, [1, 2]],
)
def test_redact_value_leaves_other_values_alone(value: object) -> None:
    assert redact_value(value) == value


def test_redact_tree_hides_secret_subtrees_and_url_passwords() -> None:
    tree: dict[str, object] = {
        "database": {"url": "postgres://app:s3cret@db/shop", "password": "s3cret", "pool_size": 5},
        "aws": {"credentials": {"key_id": "AKIA", "value": "xyz"}},
        "users": [{"name": "a", "api_key": "k1"}, {"name": "b"}],
        "hosts": ["a", "b"],
    }

    redacted = redact_tree(tree)

    assert redacted == {
        "database": {"url": "postgres://app:***@db/shop", "password": REDACTED, "pool_size": 5},
        "aws": {"credentials": REDACTED},
        "users": [{"name": "a", "api_key": REDACTED}, {"name": "b"}],
        "hosts": ["a", "b"],
    }
    assert tree["database"] == {"url": "postgres://app:s3cret@db/shop", "password": "s3cret", "pool_size": 5}


def test_redact_tree_applies_extra_patterns_to_nested_paths() -> None:
    assert redact_tree({"billing": {"account": "acct_1"}}, ["billing.account"]) == {
        "billing": {"account": REDACTED}
    }


def test_redact_flat() -> None:
    flat: dict[str, object] = {
        "env.SESSION_SECRET": "abc",
        "env.DATABASE_URL": "mysql://root:toor@db/app",
        "app.replicas": 3,
        "app.urls": ["redis://:pw@cache"],
    }

    assert redact_flat(flat) == {
        "env.SESSION_SECRET": REDACTED,
        "env.DATABASE_URL": "mysql://root:***@db/app",
        "app.replicas": 3,
        "app.urls": ["redis://:***@cache"],
    }
