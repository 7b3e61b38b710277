"""Read an AWS SSM Parameter Store path into a nested map under a namespace (`ssm.*` by default).

`/prod/shop/db/pool_size` read from `/prod/shop/` becomes `{"ssm": {"db": {"pool_size": "20"}}}`. Values stay
strings (SSM has no other scalar type); a StringList becomes a list of strings. SecureString parameters are
decrypted so the drift engine can compare them, and their dotted keys are reported in `secret_keys` so they
are redacted wherever they are shown.

A parameter that is both a value and the parent of other parameters (`/a/b` and `/a/b/c`) cannot be
represented in a tree, so reading such a path fails with a ConfigSourceError naming both parameters rather
than silently dropping one of them.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from stagetui.sources.base import ConfigSource, LoadedConfig
from stagetui.sources.files import ConfigSourceError

# What the error message adds for the codes people hit most, so the next step is obvious.
_HINTS = {
    "AccessDeniedException": "the caller needs ssm:GetParametersByPath (and kms:Decrypt for SecureString)",
    "ThrottlingException": "throttled even after retries; try again later or raise AWS_MAX_ATTEMPTS",
    "UnrecognizedClientException": "the AWS credentials are not valid for this account or region",
    "ExpiredTokenException": "the AWS session token has expired; refresh the credentials",
}

# botocore's defaults are 60 s each, multiplied by its retries: far too long for a screen waiting on a load.
_CONNECT_TIMEOUT = 10.0
_READ_TIMEOUT = 30.0


def _normalise_path(path: str) -> str:
    if not path.startswith("/"):
        raise ConfigSourceError(f"ssm path {path!r} must be absolute (start with '/')")
    if not path.endswith("/"):
        path += "/"
    if "//" in path:
        raise ConfigSourceError(f"ssm path {path!r} has an empty segment")
    return path


class SsmSource(ConfigSource):
    """Parameters below `path` (recursively), read with one paginated GetParametersByPath walk per load."""

    def __init__(
        self,
        path: str,
        *,
        namespace: str = "ssm",
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any | None = None,
        max_parameters: int = 100_000,
    ) -> None:
        self.path = _normalise_path(path)
        self.description = f"ssm {self.path}"
        if not namespace or "." in namespace:
            # A dot would make the namespace look like two levels once the tree is flattened to dotted keys.
            raise ConfigSourceError(f"{self.description}: namespace {namespace!r} must be a non-empty word")
        if max_parameters < 1:
            raise ValueError("max_parameters must be at least 1")
        self.namespace = namespace
        self.region = region
        self.endpoint_url = endpoint_url
        self.max_parameters = max_parameters
        self._client = client
        self._client_lock = threading.Lock()

    def _get_client(self) -> Any:
        # Lazy: building a source (e.g. while validating config) must not need AWS credentials or a region.
        with self._client_lock:
            if self._client is None:
                self._client = self._create_client()
            return self._client

    def _create_client(self) -> Any:
        # Imported here: boto3 takes a noticeable part of a second to import, which commands and screens that
        # never read SSM should not pay for.
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "config": Config(connect_timeout=_CONNECT_TIMEOUT, read_timeout=_READ_TIMEOUT),
        }
        region = self.region or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            options["region_name"] = region
        if self.endpoint_url is not None:
            options["endpoint_url"] = self.endpoint_url
        # Left without a region, boto3 still tries the shared config file's profile; NoRegionError (handled in
        # load) says there was none there either. A session per source: boto3's default session is shared
        # module state and not safe to build clients from in several threads at once.
        return boto3.session.Session().client("ssm", **options)

    def load(self) -> LoadedConfig:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

        try:
            parameters = self._fetch()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code") or "UnknownError"
            detail = error.get("Message") or str(exc)
            hint = _HINTS.get(code)
            raise ConfigSourceError(
                f"{self.description}: AWS error {code}: {detail}" + (f" ({hint})" if hint else "")
            ) from exc
        except NoRegionError as exc:
            raise ConfigSourceError(
                f"{self.description}: no AWS region; set one for the source or set AWS_DEFAULT_REGION"
            ) from exc
        except NoCredentialsError as exc:
            raise ConfigSourceError(
                f"{self.description}: no AWS credentials found (NoCredentialsError); set AWS_PROFILE or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from exc
        except BotoCoreError as exc:
            # Unreachable endpoint, timeouts, expired SSO tokens...: botocore's own message names the cause
            # (and the endpoint URL when there is one); the class name is the code to search for.
            raise ConfigSourceError(f"{self.description}: {type(exc).__name__}: {exc}") from exc
        return self._build(parameters)

    def _fetch(self) -> list[dict[str, Any]]:
        paginator = self._get_client().get_paginator("get_parameters_by_path")
        pages = paginator.paginate(Path=self.path, Recursive=True, WithDecryption=True)
        parameters: list[dict[str, Any]] = []
        for page in pages:
            parameters.extend(page.get("Parameters", []))
            # Checked per page, so a runaway path such as "/" stops early instead of after every page.
            if len(parameters) > self.max_parameters:
                raise ConfigSourceError(
                    f"{self.description}: more than {self.max_parameters} parameters; is the path too broad?"
                )
        return parameters

    def _build(self, parameters: list[dict[str, Any]]) -> LoadedConfig:
        root: dict[str, object] = {}
        secret_keys: set[str] = set()
        # Every node (branch or leaf) maps to the first parameter that made it, to name both sides of a clash.
        owners: dict[tuple[str, ...], str] = {}
        # Sorted so the tree's key order does not depend on the order pages happen to arrive in.
        for parameter in sorted(parameters, key=lambda p: str(p["Name"])):
            name = str(parameter["Name"])
            segments = self._segments(name)
            node = root
            for depth, segment in enumerate(segments[:-1], start=1):
                child = node.setdefault(segment, {})
                if not isinstance(child, dict):
                    raise self._clash(owners[tuple(segments[:depth])], name)
                owners.setdefault(tuple(segments[:depth]), name)
                node = child
            leaf = segments[-1]
            # Sorted, `/a/b` precedes `/a/b/c` and the clash is caught above; this keeps a value from being
            # overwritten silently should that order ever change (names are unique: this is never a value).
            if leaf in node:
                raise self._clash(name, owners[tuple(segments)])
            owners[tuple(segments)] = name
            node[leaf] = self._value(parameter)
            if parameter.get("Type") == "SecureString":
                secret_keys.add(".".join([self.namespace, *segments]))
        return LoadedConfig({self.namespace: root}, frozenset(secret_keys))

    def _segments(self, name: str) -> list[str]:
        relative = name[len(self.path) :] if name.startswith(self.path) else ""
        segments = relative.split("/")
        if not relative or "" in segments:
            raise ConfigSourceError(f"{self.description}: unexpected parameter name {name!r} in the response")
        return segments

    def _clash(self, leaf: str, below: str) -> ConfigSourceError:
        return ConfigSourceError(
            f"{self.description}: parameter {leaf} has a value and also parameters below it (such as "
            f"{below}); a config tree cannot hold both, so rename one of them"
        )

    @staticmethod
    def _value(parameter: dict[str, Any]) -> object:
        value = str(parameter.get("Value", ""))
        if parameter.get("Type") == "StringList":
            return value.split(",")
        return value
