"""Reading an environment's logs: a merged tail across its containers, and a live stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import docker

from stagetui.runtimes.docker.inventory import ContainerEntry
from stagetui.runtimes.log_streams import follow_streams, merge_tails


def merged_tail(client: docker.DockerClient, containers: Sequence[ContainerEntry], lines: int) -> list[str]:
    """The last `lines` lines of all services together, in time order, each prefixed with its service."""
    tails = [
        (c.service, client.api.logs(c.id, tail=lines, timestamps=True, stdout=True, stderr=True))
        for c in containers
    ]
    return merge_tails(tails, lines)


def follow_container_logs(
    client: docker.DockerClient, containers: Sequence[ContainerEntry], stop: Callable[[], bool]
) -> Iterator[str]:
    """New lines of the containers' logs as they are written, until `stop()` is true."""
    streams = [
        (c.service, client.api.logs(c.id, stream=True, follow=True, tail=0, stdout=True, stderr=True))
        for c in containers
    ]
    return follow_streams(streams, stop)
