"""Reading an environment's logs: a merged tail across its services, and a live stream."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence

import docker

from stagetui.runtimes.docker.inventory import ContainerEntry


def merged_tail(client: docker.DockerClient, containers: Sequence[ContainerEntry], lines: int) -> list[str]:
    """The last `lines` lines of all services together, in time order, each prefixed with its service."""
    stamped: list[tuple[str, str]] = []
    for container in containers:
        raw = client.api.logs(container.id, tail=lines, timestamps=True, stdout=True, stderr=True)
        for line in raw.decode("utf-8", "replace").splitlines():
            stamp, _, text = line.partition(" ")
            stamped.append((stamp, f"{container.service} | {text}"))
    stamped.sort(key=lambda item: item[0])
    return [text for _, text in stamped[-lines:]]


def follow_container_logs(
    client: docker.DockerClient, containers: Sequence[ContainerEntry], stop: Callable[[], bool]
) -> Iterator[str]:
    """New lines of the containers' logs as they are written, until `stop()` is true.

    One reader thread per container feeds a queue, so a quiet service never holds up a chatty one; the
    streams are closed when the caller stops, which ends the readers."""
    lines: queue.Queue[str] = queue.Queue()
    streams = []
    prefix = len(containers) > 1
    for container in containers:
        stream = client.api.logs(container.id, stream=True, follow=True, tail=0, stdout=True, stderr=True)
        streams.append(stream)

        def read(stream: Iterator[bytes] = stream, service: str = container.service) -> None:
            try:
                for chunk in stream:
                    for line in chunk.decode("utf-8", "replace").splitlines():
                        lines.put(f"{service} | {line}" if prefix else line)
            except Exception:  # a closed stream ends its reader; nothing more to say
                return

        threading.Thread(target=read, name=f"logs-{container.service}", daemon=True).start()
    try:
        while not stop():
            try:
                yield lines.get(timeout=0.2)
            except queue.Empty:
                continue
    finally:
        for stream in streams:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
