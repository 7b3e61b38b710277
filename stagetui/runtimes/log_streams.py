"""Merging the logs of several services: a tail in time order, and live streams read side by side.
Shared by the container runtimes; what a log comes from (a container, a Swarm service) is the caller's."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence


def merge_tails(tails: Iterable[tuple[str, bytes]], lines: int) -> list[str]:
    """The last `lines` lines of (service, timestamped log) pairs together, in time order, each prefixed
    with its service. Each line starts with the engine's RFC 3339 timestamp, which sorts as text."""
    stamped: list[tuple[str, str]] = []
    for service, raw in tails:
        for line in raw.decode("utf-8", "replace").splitlines():
            stamp, _, text = line.partition(" ")
            stamped.append((stamp, f"{service} | {text}"))
    stamped.sort(key=lambda item: item[0])
    return [text for _, text in stamped[-lines:]]


def follow_streams(streams: Sequence[tuple[str, Iterator[bytes]]], stop: Callable[[], bool]) -> Iterator[str]:
    """New lines of (service, stream) pairs as they are written, until `stop()` is true.

    One reader thread per stream feeds a queue, so a quiet service never holds up a chatty one; the
    streams are closed when the caller stops, which ends the readers."""
    lines: queue.Queue[str] = queue.Queue()
    prefix = len(streams) > 1
    for service, stream in streams:

        def read(stream: Iterator[bytes] = stream, service: str = service) -> None:
            try:
                for chunk in stream:
                    for line in chunk.decode("utf-8", "replace").splitlines():
                        lines.put(f"{service} | {line}" if prefix else line)
            except Exception:  # a closed stream ends its reader; nothing more to say
                return

        threading.Thread(target=read, name=f"logs-{service}", daemon=True).start()
    try:
        while not stop():
            try:
                yield lines.get(timeout=0.2)
            except queue.Empty:
                continue
    finally:
        for _, stream in streams:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
