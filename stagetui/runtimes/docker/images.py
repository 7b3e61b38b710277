"""The sample images, built on this machine (no registry is needed, or reachable): a busybox image for shell
and httpd demo services, and a Python 3 image that runs the sample service.

An image is current when its `stagetui.content` label equals the hash of what went into it, so a changed
input (the sample service's source, the host's busybox, the rootfs recipe) rebuilds it on the next ensure,
and an unchanged one costs one inspect. Builds hold a file lock in the cache dir and check again once they
have it: two threads or processes ensuring the same image build it once.

The Python image is two images: `stagetui-python-base:<recipe id>`, imported once from the cached debootstrap
tarball (~3-5 s), and the app image built on it with a generated Dockerfile holding only the service's
files (~0.2-0.6 s). One layer for both (importing rootfs + app files together) would re-import ~130 MB
whenever the service changes, for no gain on a fresh engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import struct
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import docker
import docker.errors

from stagetui.runtimes.docker.rootfs import (
    ImageBuildError,
    cached_rootfs,
    default_cache_dir,
    file_lock,
    recipe_id,
    rootfs_tarball,
)

__all__ = [
    "APP_SOURCE_FILES",
    "BUSYBOX_IMAGE",
    "CONTENT_LABEL",
    "SAMPLE_APP_IMAGE",
    "SAMPLE_IMAGES",
    "ImageBuildError",
    "ensure_sample_image",
]

BUSYBOX_IMAGE = "stagetui-busybox:1"
SAMPLE_APP_IMAGE = "stagetui-sample-app:1"
SAMPLE_IMAGES = frozenset({BUSYBOX_IMAGE, SAMPLE_APP_IMAGE})
PYTHON_BASE_REPOSITORY = "stagetui-python-base"
CONTENT_LABEL = "stagetui.content"

APP_SOURCE_FILES = ("__init__.py", "sample/__init__.py", "sample/service.py", "sample/backends.py")
"""The sample service's files, relative to the stagetui package; they go to /app/stagetui/ in the image."""
APP_SOURCE_ROOT: Traversable = resources.files("stagetui")
APP_PATH = "/usr/local/bin:/usr/bin:/bin"

Progress = Callable[[float, str], None]

_BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
_MTIME = 1_704_067_200  # fixed (2024-01-01): the same inputs give the same tar bytes, hence the same hash
_PT_INTERP = 3  # ELF program header naming a dynamic loader
_CHUNK = 1 << 20
_INDEX_HTML = b"""<!doctype html>
<html><head><title>stagetui busybox</title></head>
<body><h1>stagetui busybox httpd</h1><p>Served from /www by a sample image built on this machine.</p></body>
</html>
"""
_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = b"root:x:0:\nnobody:x:65534:\n"


def ensure_sample_image(
    client: docker.DockerClient,
    name: str,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
) -> bool:
    """Make sure the named sample image exists and is current; True when it was built now."""
    report: Progress = progress or _ignore
    cache = cache_dir or default_cache_dir()
    if name == BUSYBOX_IMAGE:
        rootfs, content = _busybox_image()
    elif name == SAMPLE_APP_IMAGE:
        sources = sample_app_sources()
        content = _app_content(sources)
    else:
        raise ValueError(f"{name} is not a sample image (one of {', '.join(sorted(SAMPLE_IMAGES))})")
    if _is_current(client, name, content):
        report(1.0, f"{name} is up to date")
        return False
    with file_lock(cache / "locks" / f"{name.replace(':', '-').replace('/', '-')}.lock"):
        if _is_current(client, name, content):  # built by another thread or process while we waited
            report(1.0, f"{name} is up to date")
            return False
        previous = _image_id(client, name)
        if name == BUSYBOX_IMAGE:
            report(0.1, f"importing {name}")
            _import(client, name, rootfs, [*_label(content), "ENV PATH=/bin", 'CMD ["sh"]'])
        else:
            _build_app(client, sources, content, cache, report)
        _remove_superseded(client, previous, name)
    report(1.0, f"{name} built")
    return True


def _ignore(_fraction: float, _message: str) -> None:
    pass


def _label(content: str) -> list[str]:
    return [f"LABEL {CONTENT_LABEL}={content}"]


def _image_id(client: docker.DockerClient, name: str) -> str | None:
    try:
        return str(client.api.inspect_image(name)["Id"])
    except docker.errors.ImageNotFound:
        return None


def _is_current(client: docker.DockerClient, name: str, content: str) -> bool:
    try:
        labels = client.api.inspect_image(name)["Config"].get("Labels") or {}
    except docker.errors.ImageNotFound:
        return False
    return bool(labels.get(CONTENT_LABEL) == content)


def _remove_superseded(client: docker.DockerClient, previous: str | None, name: str) -> None:
    """The image the tag pointed at before, now dangling; kept while a container still uses it."""
    if previous is not None and previous != _image_id(client, name):
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_image(previous)


def _import(
    client: docker.DockerClient, name: str, data: bytes | Iterator[bytes], changes: list[str]
) -> None:
    repository, tag = name.rsplit(":", 1)
    try:
        answer = client.api.import_image_from_data(data, repository=repository, tag=tag, changes=changes)
    except docker.errors.APIError as error:
        raise ImageBuildError(f"importing {name} failed: {error.explanation or error}") from None
    # A bad tar is reported inside a 200 answer, as a JSON line with an "error".
    for line in str(answer).splitlines():
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict) and message.get("error"):
                raise ImageBuildError(f"importing {name} failed: {message['error']}")


# --- busybox ----------------------------------------------------------------------------------------------


def find_static_busybox() -> Path:
    """The host's statically linked busybox: a dynamic one cannot run in an image without a libc."""
    found = [Path(path) for path in (*_BUSYBOX_CANDIDATES, shutil.which("busybox")) if path]
    existing = [path for path in dict.fromkeys(found) if path.is_file()]
    for path in existing:
        if _is_static_elf(path.read_bytes()):
            return path
    if existing:
        raise ImageBuildError(
            f"the busybox at {existing[0]} is dynamically linked and cannot run in an empty image: "
            "apt-get install busybox-static"
        )
    raise ImageBuildError("busybox-static is not installed: apt-get install busybox-static")


def _is_static_elf(data: bytes) -> bool:
    if data[:4] != b"\x7fELF" or len(data) < 64:
        return False
    endian = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # 64-bit
        (offset,) = struct.unpack_from(f"{endian}Q", data, 0x20)
        entry_size, entries = struct.unpack_from(f"{endian}HH", data, 0x36)
    else:
        (offset,) = struct.unpack_from(f"{endian}I", data, 0x1C)
        entry_size, entries = struct.unpack_from(f"{endian}HH", data, 0x2A)
    for index in range(entries):
        (kind,) = struct.unpack_from(f"{endian}I", data, offset + index * entry_size)
        if kind == _PT_INTERP:
            return False
    return True


_busybox_cache: dict[tuple[tuple[str, int, int, int], ...], tuple[bytes, str]] = {}


def _busybox_image() -> tuple[bytes, str]:
    """The busybox rootfs and its content hash, made once per process for the same host busybox: every
    environment start ensures its images, and making these (a subprocess, ~2 MB read, tarred and hashed,
    ~25 ms idle, far more on a busy machine) per start was the largest cost of the image check."""
    candidates = [Path(path) for path in (*_BUSYBOX_CANDIDATES, shutil.which("busybox")) if path]
    key = []
    for path in dict.fromkeys(candidates):
        with contextlib.suppress(OSError):
            stat = path.stat()
            key.append((str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns))
    signature = tuple(key)
    if signature not in _busybox_cache:
        rootfs = busybox_rootfs()
        _busybox_cache.clear()  # only the current binary's is worth keeping
        _busybox_cache[signature] = (rootfs, hashlib.sha256(rootfs).hexdigest())
    return _busybox_cache[signature]


def busybox_rootfs() -> bytes:
    """The busybox image's whole filesystem as a tar, the same bytes for the same host busybox."""
    binary = find_static_busybox()
    listed = subprocess.run([str(binary), "--list"], capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise ImageBuildError(f"{binary} --list failed: {listed.stderr.strip()}")
    applets = sorted(set(listed.stdout.split()) - {"busybox"})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory, mode in (
            ("bin", 0o755),
            ("etc", 0o755),
            ("root", 0o700),
            ("tmp", 0o1777),
            ("www", 0o755),
        ):
            tar.addfile(_member(directory, tarfile.DIRTYPE, mode))
        busybox = binary.read_bytes()
        tar.addfile(_member("bin/busybox", tarfile.REGTYPE, 0o755, len(busybox)), io.BytesIO(busybox))
        # `busybox --install` cannot run in an import, so the applet links are made here.
        for applet in applets:
            tar.addfile(_member(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
        for path, data in (("etc/passwd", _PASSWD), ("etc/group", _GROUP), ("www/index.html", _INDEX_HTML)):
            tar.addfile(_member(path, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return buffer.getvalue()


def _member(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.mode, member.size, member.linkname, member.mtime = kind, mode, size, link, _MTIME
    return member


# --- the Python sample app --------------------------------------------------------------------------------


def sample_app_sources() -> dict[str, bytes]:
    """The sample service's files as installed, keyed by their path in the image."""
    try:
        return {
            f"app/stagetui/{relative}": APP_SOURCE_ROOT.joinpath(*relative.split("/")).read_bytes()
            for relative in APP_SOURCE_FILES
        }
    except OSError as error:
        raise ImageBuildError(
            f"the sample service's files are missing from the installation: {error}"
        ) from None


def _python_base() -> str:
    return f"{PYTHON_BASE_REPOSITORY}:{recipe_id()}"


def _app_content(sources: dict[str, bytes]) -> str:
    digest = hashlib.sha256(_python_base().encode())
    for path in sorted(sources):
        digest.update(f"\0{path}\0{len(sources[path])}\0".encode())
        digest.update(sources[path])
    return digest.hexdigest()


def _build_app(
    client: docker.DockerClient, sources: dict[str, bytes], content: str, cache: Path, report: Progress
) -> None:
    base = _python_base()
    if not _is_current(client, base, recipe_id()):
        import_from = 0.0 if rootfs_tarball(cache).is_file() else 0.75  # debootstrap dominates a first build
        tarball = cached_rootfs(cache, lambda fraction, message: report(fraction * import_from, message))
        size = tarball.stat().st_size or 1

        def chunks() -> Iterator[bytes]:
            sent = 0
            with tarball.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    sent += len(chunk)
                    report(import_from + (0.9 - import_from) * sent / size, f"importing {base}")
                    yield chunk

        # The compressed tarball goes as is: the engine unpacks gzip itself.
        _import(client, base, chunks(), [*_label(recipe_id()), f"ENV PATH={APP_PATH}"])
    report(0.9, f"building {SAMPLE_APP_IMAGE} on {base}")
    dockerfile = (
        f"FROM {base}\nCOPY app /app\nENV PYTHONPATH=/app PATH={APP_PATH}\nWORKDIR /app\n"
        f'LABEL {CONTENT_LABEL}="{content}"\n'
    ).encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for path, data in {"Dockerfile": dockerfile, **sources}.items():
            tar.addfile(_member(path, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    context.seek(0)
    try:
        stream: Iterable[dict[str, Any]] = client.api.build(
            fileobj=context, custom_context=True, tag=SAMPLE_APP_IMAGE, rm=True, forcerm=True, pull=False,
            decode=True,
        )  # fmt: skip
        log: list[str] = []
        for message in stream:
            if message.get("error"):
                raise ImageBuildError(
                    f"building {SAMPLE_APP_IMAGE} failed: {message['error']}\n" + "".join(log[-10:])
                )
            text = str(message.get("stream") or "")
            log.append(text)
            if text.startswith("Step "):
                report(0.95, text.strip())
    except docker.errors.APIError as error:
        raise ImageBuildError(f"building {SAMPLE_APP_IMAGE} failed: {error.explanation or error}") from None
