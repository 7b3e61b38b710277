"""Production's SSM parameters as an AWS environment gets them: secrets of its own, lists kept lists."""

from __future__ import annotations

from stagetui.strategies.config_render import environment_secret
from stagetui.strategies.snapshot_aws import environment_values

TREE: dict[str, object] = {
    "ssm": {
        "db": {"host": "db.internal", "password": "prod-pw", "url": "postgres://u:prodpw@h/db"},
        "regions": ["eu-west-1", "us-east-1"],
        "api_token": "tok-123",
    }
}


def test_secrets_are_the_environments_own_and_lists_stay_lists() -> None:
    values, secure, lists = environment_values(TREE, frozenset({"ssm.db.password"}), "env-1", ["ssm.db.url"])
    assert values == {
        "db.host": "db.internal",
        "db.password": environment_secret("env-1", "db.password"),  # a SecureString in production
        "db.url": environment_secret("env-1", "db.url"),  # named by a secret pattern, namespace included
        "regions": "eu-west-1,us-east-1",
        "api_token": environment_secret("env-1", "api_token"),  # looks secret by its name
    }
    assert secure == {"db.password", "db.url", "api_token"}
    assert lists == {"regions"}
    assert not any(v in {"prod-pw", "postgres://u:prodpw@h/db", "tok-123"} for v in values.values())


def test_each_environment_gets_different_secrets() -> None:
    first, _, _ = environment_values(TREE, frozenset({"ssm.db.password"}), "env-1", [])
    second, _, _ = environment_values(TREE, frozenset({"ssm.db.password"}), "env-2", [])
    assert first["db.password"] != second["db.password"]
    assert first["db.host"] == second["db.host"]
