"""SsmSource against a moto server over HTTP, and AWS failures (which moto cannot produce) through Stubber."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from stagetui.sources.base import LoadedConfig
from stagetui.sources.files import ConfigSourceError
from stagetui.sources.ssm import SsmSource
from tests.integration.moto_server import REGION

pytestmark = pytest.mark.integration

FEATURES = 22  # with the five parameters below: 27 under /prod/shop/, three pages of at most ten


def ssm_client(endpoint: str | None = None) -> Any:
    # One attempt: moto answers calls it does not implement with HTTP 500, which botocore would retry.
    return boto3.session.Session().client(
        "ssm",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def put(client: Any, name: str, value: str, kind: str = "String") -> None:
    client.put_parameter(Name=name, Value=value, Type=kind)


def count_calls(client: Any) -> list[int]:
    """A list that grows by one for every GetParametersByPath response the client receives."""
    calls: list[int] = []
    client.meta.events.register("after-call.ssm.GetParametersByPath", lambda **_: calls.append(1))
    return calls


@pytest.fixture
def shop(aws_endpoint: str) -> str:
    client = ssm_client(aws_endpoint)
    for index in range(FEATURES):
        put(client, f"/prod/shop/features/f{index:02d}", "on" if index % 2 else "off")
    put(client, "/prod/shop/db/pool_size", "20")
    put(client, "/prod/shop/db/password", "s3cret", "SecureString")
    # Secret by its type alone: nothing in the name looks like a secret.
    put(client, "/prod/shop/payment/merchant_id", "m-123", "SecureString")
    put(client, "/prod/shop/hosts", "a.example,b.example,c.example", "StringList")
    put(client, "/prod/shop/deep/er/still", "x")
    # Neighbours whose names start with the same characters; none may leak into /prod/shop/.
    put(client, "/prod/shopping/cart/ttl", "leak")
    put(client, "/prod/shop", "leak")
    put(client, "/staging/shop/db/pool_size", "leak")
    return aws_endpoint


EXPECTED_SHOP = {
    "features": {f"f{index:02d}": "on" if index % 2 else "off" for index in range(FEATURES)},
    "db": {"pool_size": "20", "password": "s3cret"},
    "payment": {"merchant_id": "m-123"},
    "hosts": ["a.example", "b.example", "c.example"],
    "deep": {"er": {"still": "x"}},
}


def test_loads_the_path_as_a_nested_tree_across_pages(shop: str) -> None:
    client = ssm_client(shop)
    pages = count_calls(client)

    loaded = SsmSource("/prod/shop/", client=client).load()

    assert loaded.tree == {"ssm": EXPECTED_SHOP}
    assert len(pages) == 3
    # SecureString values are loaded decrypted (the drift engine compares them) and marked secret by key.
    assert loaded.secret_keys == frozenset({"ssm.db.password", "ssm.payment.merchant_id"})


def test_builds_its_own_client_from_endpoint_and_environment_region(shop: str) -> None:
    source = SsmSource("/prod/shop/", namespace="prod_ssm", endpoint_url=shop)

    loaded = source.load()

    assert source.description == "ssm /prod/shop/"
    assert loaded.tree == {"prod_ssm": EXPECTED_SHOP}
    assert loaded.secret_keys == frozenset({"prod_ssm.db.password", "prod_ssm.payment.merchant_id"})


def test_missing_trailing_slash_is_added_and_does_not_widen_the_path(shop: str) -> None:
    source = SsmSource("/prod/shop", endpoint_url=shop)

    assert source.description == "ssm /prod/shop/"
    # Without the slash, /prod/shopping/... would match the prefix.
    assert source.load().tree == {"ssm": EXPECTED_SHOP}


def test_empty_path_gives_an_empty_namespace(shop: str) -> None:
    loaded = SsmSource("/prod/nothing/here/", endpoint_url=shop).load()

    assert loaded == LoadedConfig({"ssm": {}}, frozenset())


@pytest.mark.parametrize("path", ["prod/shop/", "", "shop", "/prod//shop/"])
def test_relative_or_malformed_path_is_refused(path: str) -> None:
    with pytest.raises(ConfigSourceError, match="ssm path"):
        SsmSource(path)


def test_value_with_parameters_below_it_is_an_error_naming_both(aws_endpoint: str) -> None:
    client = ssm_client(aws_endpoint)
    put(client, "/prod/shop/db/host", "db.internal")
    put(client, "/prod/shop/db", "postgres")
    put(client, "/prod/shop/cache", "on")

    with pytest.raises(ConfigSourceError) as caught:
        SsmSource("/prod/shop/", client=client).load()

    assert "ssm /prod/shop/" in str(caught.value)
    assert "/prod/shop/db " in str(caught.value)
    assert "/prod/shop/db/host" in str(caught.value)


def test_too_many_parameters_stops_paging_early(shop: str) -> None:
    client = ssm_client(shop)
    pages = count_calls(client)

    with pytest.raises(ConfigSourceError, match=r"ssm /prod/shop/: more than 15 parameters"):
        SsmSource("/prod/shop/", client=client, max_parameters=15).load()

    assert len(pages) == 2  # of three: the guard does not read the rest of a runaway path


EXPECTED_CALL = {"Path": "/prod/shop/", "Recursive": True, "WithDecryption": True}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = ssm_client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 400), ("ThrottlingException", 400), ("InternalServerError", 500)],
)
def test_aws_errors_name_the_path_and_the_code(stubbed: tuple[Any, Stubber], code: str, status: int) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "get_parameters_by_path",
        service_error_code=code,
        service_message="not today",
        http_status_code=status,
        expected_params=EXPECTED_CALL,
    )

    with pytest.raises(ConfigSourceError) as caught:
        SsmSource("/prod/shop/", client=client).load()

    message = str(caught.value)
    assert message.startswith(f"ssm /prod/shop/: AWS error {code}: not today")
    assert "\n" not in message


def test_failure_on_a_later_page_gives_an_error_not_a_partial_tree(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    first_page = {"Parameters": [{"Name": "/prod/shop/a", "Type": "String", "Value": "1"}], "NextToken": "t1"}
    stubber.add_response("get_parameters_by_path", first_page, EXPECTED_CALL)
    stubber.add_client_error(
        "get_parameters_by_path",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        expected_params={**EXPECTED_CALL, "NextToken": "t1"},
    )

    with pytest.raises(ConfigSourceError, match=r"^ssm /prod/shop/: AWS error ThrottlingException: Rate"):
        SsmSource("/prod/shop/", client=client).load()


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but never listening: connections are refused, and no other process can take the port meanwhile.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_unreachable_endpoint_is_an_error(
    aws_endpoint: str, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    endpoint = f"http://127.0.0.1:{closed_port}"

    with pytest.raises(ConfigSourceError) as caught:
        SsmSource("/prod/shop/", endpoint_url=endpoint).load()

    message = str(caught.value)
    assert message.startswith("ssm /prod/shop/: EndpointConnectionError")
    assert endpoint in message


def test_no_region_is_a_clear_error(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    source = SsmSource("/prod/shop/", endpoint_url=aws_endpoint)  # lazy: building needs no region

    with pytest.raises(ConfigSourceError, match=r"^ssm /prod/shop/: no AWS region"):
        source.load()


def test_explicit_region_wins_over_the_environment(shop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto keeps parameters per region: the shop's parameters exist only in REGION.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    assert SsmSource("/prod/shop/", endpoint_url=shop).load().tree == {"ssm": {}}
    assert SsmSource("/prod/shop/", endpoint_url=shop, region=REGION).load().tree == {"ssm": EXPECTED_SHOP}


def test_no_credentials_is_a_clear_error(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    # Otherwise botocore would ask the EC2 instance metadata service, which may exist where tests run.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(ConfigSourceError, match=r"^ssm /prod/shop/: no AWS credentials"):
        SsmSource("/prod/shop/", endpoint_url=aws_endpoint).load()
