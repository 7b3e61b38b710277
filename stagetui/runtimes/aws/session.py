"""boto3 clients the AWS way: the standard credential chain or a profile, the region from config or the
environment, one endpoint for every service when configured (LocalStack, moto, private endpoints), and
botocore's retry config for throttling and transient errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from stagetui.config.aws import AwsRuntimeConfig

SERVICES = ("rds", "ec2", "s3", "ssm", "resourcegroupstaggingapi", "ce", "sts")


@dataclass
class AwsClients:
    """One boto3 session and its clients, made on first use (boto3 takes a good part of a second to
    import, which commands that never touch AWS should not pay)."""

    settings: AwsRuntimeConfig
    environ: Mapping[str, str] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    """Clients given from outside (tests: a client wrapped in botocore's Stubber)."""

    @cached_property
    def session(self) -> Any:
        import boto3

        return boto3.session.Session(profile_name=self.settings.profile, region_name=self.region)

    @property
    def region(self) -> str | None:
        return (
            self.settings.region or self.environ.get("AWS_REGION") or self.environ.get("AWS_DEFAULT_REGION")
        )

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.endpoint_url or self.environ.get("AWS_ENDPOINT_URL") or None

    def client(self, service: str) -> Any:
        if service in self.overrides:
            return self.overrides[service]
        return self._made(service)

    def _made(self, service: str) -> Any:
        cache: dict[str, Any] = self.__dict__.setdefault("_clients", {})
        if service not in cache:
            from botocore.config import Config

            config = Config(
                # total_max_attempts counts the first request too, as the setting means; botocore's
                # max_attempts would count retries only.
                retries={"total_max_attempts": self.settings.max_attempts, "mode": self.settings.retry_mode},
                connect_timeout=10,
                read_timeout=60,
            )
            options: dict[str, Any] = {"config": config}
            if self.endpoint_url:
                options["endpoint_url"] = self.endpoint_url
            cache[service] = self.session.client(service, **options)
        return cache[service]

    @property
    def rds(self) -> Any:
        return self.client("rds")

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def tagging(self) -> Any:
        return self.client("resourcegroupstaggingapi")

    @property
    def cost_explorer(self) -> Any:
        return self.client("ce")

    def waiter_config(self) -> dict[str, int]:
        """For boto3 waiters: poll every waiter_delay until waiter_timeout."""
        delay = max(1, round(self.settings.waiter_delay.total_seconds()))
        attempts = max(1, round(self.settings.waiter_timeout.total_seconds() / delay))
        return {"Delay": delay, "MaxAttempts": attempts}
