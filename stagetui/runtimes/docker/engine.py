"""Connecting to the Docker Engine and turning its failures into errors a user can act on."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import docker
import docker.errors
import requests.exceptions

from stagetui.runtimes.base import RuntimeOperationError


class EngineUnavailableError(RuntimeOperationError):
    """The engine does not answer: environments on it can be neither listed nor changed right now."""


_PORT_TAKEN = re.compile(r"port is already allocated|address already in use", re.IGNORECASE)


def engine_address(host: str | None, environ: Mapping[str, str]) -> str:
    return host or environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(host: str | None, environ: Mapping[str, str], timeout: float) -> docker.DockerClient:
    """A client for the configured engine; EngineUnavailableError when it does not answer a ping."""
    address = engine_address(host, environ)
    with engine_errors(f"Docker engine at {address}"):
        client = docker.DockerClient(base_url=address, timeout=int(max(1, timeout)), version="auto")
        client.ping()
        return client


class EngineConnection:
    """One client for an engine, made on first use and shared by threads (a runtime's workers)."""

    def __init__(
        self,
        host: str | None,
        environ: Mapping[str, str],
        api_timeout: float,
        factory: Callable[[], docker.DockerClient] | None = None,
    ) -> None:
        self.address = engine_address(host, environ)
        self._host, self._environ, self._timeout = host, dict(environ), api_timeout
        self._factory = factory
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    def client(self) -> docker.DockerClient:
        """The client; EngineUnavailableError while the engine does not answer (retried on the next call)."""
        with self._lock:
            if self._client is None:
                self._client = (
                    self._factory() if self._factory else connect(self._host, self._environ, self._timeout)
                )
            return self._client


@contextmanager
def engine_errors(doing: str) -> Iterator[None]:
    """Re-raise what the SDK throws as RuntimeOperationError saying what was being done."""
    try:
        yield
    except docker.errors.ImageNotFound as error:
        raise RuntimeOperationError(f"{doing}: image missing: {_explanation(error)}") from None
    except docker.errors.APIError as error:
        text = _explanation(error)
        if _PORT_TAKEN.search(text):
            raise RuntimeOperationError(f"{doing}: a published port is taken: {text}") from None
        raise RuntimeOperationError(f"{doing}: {text}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        raise EngineUnavailableError(
            f"{doing}: the Docker engine does not answer ({_first_line(error)})"
        ) from None
    except docker.errors.DockerException as error:
        # Raised by the SDK before any request, e.g. when DOCKER_HOST points at a missing socket.
        raise EngineUnavailableError(
            f"{doing}: the Docker engine does not answer ({_first_line(error)})"
        ) from None


def _explanation(error: docker.errors.APIError) -> str:
    return str(error.explanation or error).strip()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
