"""Following a Swarm service's log as it is written, in a stream that can be closed from another thread."""

from __future__ import annotations

from typing import Any

import docker
from docker.types import CancellableStream


def follow_service_log(client: docker.DockerClient, service_id: str) -> CancellableStream:
    """New lines of the service's tasks from now on. docker-py's service_logs() returns a bare generator,
    which cannot be closed while a reader thread blocks in it (the connection would stay open until the
    service logs again); this keeps the response, so closing the stream ends the reader at once. The
    service API's own calls, as service_logs() makes them; services stagetui makes have no TTY."""
    api: Any = client.api
    params = {"follow": True, "stdout": True, "stderr": True, "tail": 0, "timestamps": False}
    response = api._get(api._url("/services/{0}/logs", service_id), params=params, stream=True)
    api._raise_for_status(response)
    return CancellableStream(api._multiplexed_response_stream_helper(response), response)
