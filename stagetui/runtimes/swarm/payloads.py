"""Shipping a workspace directory (the data copy, the rendered config) to whichever nodes run its tasks.

Named volumes are per node and a manager cannot write into a worker's, so the files travel as Swarm
configs, which the manager hands to exactly the nodes that need them. A config holds at most 500 KB: a
directory whose files all fit is mounted file by file where the service expects it (read-only, no change to
the image's command); otherwise each file is cut into parts mounted under /run/stagetui, and the service's
command is wrapped in a short shell script that joins them into a tmpfs at the expected path first (the
image needs `sh` and `cat`). Pure: reading the directory is the only I/O.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stagetui.runtimes.swarm import naming

PART_BYTES = 480 * 1024
"""Under Swarm's limit of 500 KB per config, with room for its encoding."""
PARTS_ROOT = PurePosixPath("/run/stagetui")


class PayloadError(ValueError):
    """The directory cannot be shipped (too big, or not plain files); the message says what to do."""


@dataclass(frozen=True)
class ConfigPart:
    name: str
    """The Swarm config's name (content-addressed: new content, new name)."""
    target: str
    """Absolute path of the file inside the container."""
    content: bytes


@dataclass(frozen=True)
class Payload:
    """One directory as configs, for the services that mount it at `target`."""

    kind: str
    """"data" or "config": also the role label of its configs."""
    target: str
    """Where the services expect the directory (the compose volume's mount target)."""
    parts: tuple[ConfigPart, ...]
    joins: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Per file to assemble at start: its path under `target` and its parts' paths, in order. Empty when
    every file is mounted in place."""

    @property
    def joined(self) -> bool:
        return bool(self.joins)

    @property
    def size(self) -> int:
        return sum(len(part.content) for part in self.parts)

    def start_script(self) -> str:
        """Shell lines that assemble the parts; `exec "$@"` follows them in the wrapped command."""
        directories = sorted({str(PurePosixPath(self.target, f).parent) for f, _ in self.joins})
        lines = ["set -e", "mkdir -p " + " ".join(shlex.quote(d) for d in directories)]
        for relative, part_paths in self.joins:
            sources = " ".join(shlex.quote(p) for p in part_paths) or "/dev/null"
            lines.append(f"cat {sources} > {shlex.quote(str(PurePosixPath(self.target, relative)))}")
        return "\n".join(lines)


def _files(directory: Path) -> list[tuple[str, bytes]]:
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise PayloadError(f"{path}: only plain files and directories can be shipped to the nodes")
        if path.is_file():
            found.append((path.relative_to(directory).as_posix(), path.read_bytes()))
    return found


def payload(environment_id: str, kind: str, directory: Path, target: str, *, max_bytes: int) -> Payload:
    """`directory`'s files as configs for services mounting it at `target` (absolute)."""
    files = _files(directory)
    total = sum(len(content) for _, content in files)
    if total > max_bytes:
        raise PayloadError(
            f"the environment's {kind} is {total / 1e6:.1f} MB, over runtimes.swarm.max_data_size "
            f"({max_bytes / 1e6:.1f} MB): Swarm ships it to the nodes as configs; put bigger data on a "
            "database server the nodes reach (data.postgres), or subset it (strategies.containerized)"
        )
    digest = hashlib.sha256()
    for relative, content in files:
        digest.update(relative.encode() + b"\0" + hashlib.sha256(content).digest())
    key = digest.hexdigest()
    # Swarm refuses empty configs: an empty file is made by the start script, as files in parts are.
    if all(0 < len(content) <= PART_BYTES for _, content in files):
        parts = tuple(
            ConfigPart(
                naming.config_name(environment_id, kind, key, index),
                str(PurePosixPath(target, relative)),
                content,
            )
            for index, (relative, content) in enumerate(files)
        )
        return Payload(kind, target, parts)
    split: list[ConfigPart] = []
    joins = []
    for relative, content in files:
        paths = []
        for offset in range(0, len(content), PART_BYTES):
            index = len(split)
            path = str(PARTS_ROOT / kind / str(index))
            split.append(
                ConfigPart(
                    naming.config_name(environment_id, kind, key, index),
                    path,
                    content[offset : offset + PART_BYTES],
                )
            )
            paths.append(path)
        joins.append((relative, tuple(paths)))
    return Payload(kind, target, tuple(split), tuple(joins))
