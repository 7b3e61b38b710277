"""Clients the AWS way: profiles from the shared files, the region and endpoint from config or environment,
and the retry config every client gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.aws.session import AwsClients


@pytest.fixture
def shared_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile staging]\nregion = eu-central-1\n")
    credentials.write_text("[staging]\naws_access_key_id = AKIASTAGING\naws_secret_access_key = s3cr3t\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))


def test_a_profile_gives_its_region_and_credentials(shared_files: None) -> None:
    clients = AwsClients(AwsRuntimeConfig(profile="staging"), {})
    assert clients.rds.meta.region_name == "eu-central-1"
    assert clients.session.get_credentials().access_key == "AKIASTAGING"


def test_the_config_region_wins_over_the_environment_and_the_profile(shared_files: None) -> None:
    clients = AwsClients(
        AwsRuntimeConfig(profile="staging", region="us-west-2"), {"AWS_REGION": "ap-south-1"}
    )
    assert clients.ssm.meta.region_name == "us-west-2"
    from_env = AwsClients(AwsRuntimeConfig(profile="staging"), {"AWS_DEFAULT_REGION": "ap-south-1"})
    assert from_env.ssm.meta.region_name == "ap-south-1"


def test_the_endpoint_comes_from_the_config_else_aws_endpoint_url(shared_files: None) -> None:
    environ = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
    assert (
        AwsClients(AwsRuntimeConfig(region="us-east-1"), environ).s3.meta.endpoint_url
        == "http://127.0.0.1:5000"
    )
    configured = AwsRuntimeConfig(region="us-east-1", endpoint_url="http://localstack:4566")
    assert AwsClients(configured, environ).s3.meta.endpoint_url == "http://localstack:4566"
    assert AwsClients(AwsRuntimeConfig(region="us-east-1"), {}).s3.meta.endpoint_url.startswith("https://s3.")


def test_every_client_gets_the_retry_config_and_waiters_their_pace(shared_files: None) -> None:
    settings = AwsRuntimeConfig.model_validate(
        {
            "region": "us-east-1",
            "max_attempts": 7,
            "retry_mode": "adaptive",
            "waiter_delay": "10s",
            "waiter_timeout": "5m",
        }
    )
    clients = AwsClients(settings, {})
    retries = clients.ec2.meta.config.retries
    assert retries == {"total_max_attempts": 7, "mode": "adaptive"}
    assert clients.waiter_config() == {"Delay": 10, "MaxAttempts": 30}
