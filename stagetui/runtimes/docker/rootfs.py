"""A Debian root filesystem with Python 3 for the sample app image: made once per machine by debootstrap
and cached as a compressed tarball (no image registry is needed, or reachable, to get Python into an image).

The tarball's name carries the recipe's id (suite, variant, packages, architecture, packing version), so a
changed recipe makes a new tarball and the old one is simply no longer used.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from stagetui.store.private import FILE_MODE, make_private_directory

Progress = Callable[[float, str], None]

SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("python3",)  # python3-minimal lacks sqlite3, which the sample service needs
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_PACKING_VERSION = 1  # bump when pack() changes what the tarball holds
_DEBOOTSTRAP_LINES = 540  # "I: ..." lines debootstrap prints for this recipe: the progress scale
_OUTPUT_TAIL = 25
# Not needed to run Python, and about half the tree: downloaded .debs, apt lists, docs, manuals, locales.
_DROPPED_CONTENT = (
    "var/cache/apt/",
    "var/lib/apt/lists/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
)
_MOUNTINFO = Path("/proc/self/mountinfo")
_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


class ImageBuildError(Exception):
    """A sample image could not be built; the message says what to do about it."""


def recipe_id() -> str:
    recipe = {
        "suite": SUITE,
        "variant": VARIANT,
        "packages": sorted(PACKAGES),
        "arch": platform.machine(),
        "packing": _PACKING_VERSION,
        "dropped": _DROPPED_CONTENT,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stagetui"


def apt_mirror(apt_dir: Path = Path("/etc/apt"), suite: str = SUITE) -> str:
    """The machine's own Debian mirror: the first `deb` source that serves `suite`, else deb.debian.org.
    Using it keeps debootstrap working where only the configured mirror (or a proxy of it) is reachable."""
    sources: list[tuple[str, list[str]]] = []  # (uri, suites) per deb entry, in apt's reading order
    with contextlib.suppress(OSError):
        sources += _one_line_sources((apt_dir / "sources.list").read_text())
    part_dir = apt_dir / "sources.list.d"
    parts = sorted(part_dir.glob("*.list")) + sorted(part_dir.glob("*.sources")) if part_dir.is_dir() else []
    for part in sorted(parts, key=lambda path: path.name):
        with contextlib.suppress(OSError):
            text = part.read_text()
            sources += _one_line_sources(text) if part.suffix == ".list" else _deb822_sources(text)
    for uri, suites in sources:
        if suite in suites and uri.startswith(("http://", "https://", "file:/")):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def _one_line_sources(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", raw.split("#", 1)[0]).split()  # drop [arch=... signed-by=...]
        if len(line) >= 3 and line[0] == "deb":
            found.append((line[1], [line[2]]))
    return found


def _deb822_sources(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes").lower() != "no":
            found += [(uri, fields.get("suites", "").split()) for uri in fields.get("uris", "").split()]
    return found


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive across threads and processes (flock on a file next to what it guards)."""
    make_private_directory(path.parent)
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(path, threading.Lock())
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)  # owner-only like all stagetui state
    with thread_lock, os.fdopen(descriptor, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rootfs_tarball(cache_dir: Path) -> Path:
    return cache_dir / f"python-rootfs-{recipe_id()}.tar.gz"


def cached_rootfs(cache_dir: Path, progress: Progress) -> Path:
    """The rootfs tarball for the current recipe, made now (debootstrap, ~30-45 s) if the machine has none."""
    tarball = rootfs_tarball(cache_dir)
    if tarball.is_file():
        return tarball
    with file_lock(cache_dir / "locks" / "python-rootfs.lock"):
        if tarball.is_file():  # another process made it while we waited
            return tarball
        for stale in cache_dir.glob("rootfs-*"):  # a killed build's work dir (~260 MB); no one else holds it
            if stale.is_dir():
                remove_tree(stale)
        work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir))
        try:
            debootstrap(work / "root", apt_mirror(), lambda f, m: progress(0.85 * f, m))
            partial = work / "rootfs.tar.gz"
            pack(work / "root", partial, lambda f, m: progress(0.85 + 0.15 * f, m))
            partial.replace(tarball)  # whole or absent: a killed run never leaves half a tarball
        except BaseException:
            remove_tree(work)  # the original error matters more than a leftover dir
            raise
        still_mounted = remove_tree(work)
        if still_mounted:
            raise ImageBuildError(f"left {work} in place: still mounted: {', '.join(still_mounted)}")
    return tarball


def debootstrap(target: Path, mirror: str, progress: Progress) -> None:
    binary = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if binary is None:
        raise ImageBuildError("debootstrap is not installed: apt-get install debootstrap")
    if os.geteuid() != 0:
        raise ImageBuildError(
            "debootstrap needs root to build the Python sample image: run stagetui as root once"
        )
    command = [binary, f"--variant={VARIANT}", f"--include={','.join(PACKAGES)}", SUITE, str(target), mirror]
    progress(0.0, f"debootstrap {SUITE} from {mirror}")
    tail: deque[str] = deque(maxlen=_OUTPUT_TAIL)
    steps = 0
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip())
            if line.startswith("I: "):
                steps += 1
                progress(min(steps / _DEBOOTSTRAP_LINES, 0.99), line[3:].strip())
    if process.returncode != 0:
        with contextlib.suppress(OSError):  # debootstrap's own log says more than its output
            log = (target / "debootstrap" / "debootstrap.log").read_text(errors="replace").splitlines()
            tail.extend(["--- debootstrap.log ---", *log[-_OUTPUT_TAIL:]])
        raise ImageBuildError(
            f"debootstrap failed (exit {process.returncode}, mirror {mirror}; check that the mirror is "
            "reachable):\n" + "\n".join(tail)
        )
    progress(1.0, "debootstrap done")


def pack(root: Path, destination: Path, progress: Progress) -> None:
    """root as a gzip'd tar, without what _DROPPED_CONTENT names. Compression level 1: ~2 s instead of
    ~5.5 s, for a tarball only ~10% bigger (48 MB)."""
    total = sum(len(dirs) + len(files) for _, dirs, files in os.walk(root)) or 1
    done = 0

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        nonlocal done
        done += 1
        if done % 500 == 0:
            progress(min(done / total, 0.99), f"packing the rootfs ({done}/{total} entries)")
        name = member.name.removeprefix("./")
        if not member.isdir() and (
            name.startswith(_DROPPED_CONTENT)
            or (name.startswith("usr/share/doc/") and not name.endswith("/copyright"))
        ):
            return None
        member.uname = member.gname = ""  # docker uses the numeric ids; host names mean nothing inside
        return member

    with (
        destination.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.add(root, arcname=".", filter=keep)
    progress(1.0, "rootfs packed")


def mounts_under(directory: Path) -> list[str]:
    prefix = str(directory.resolve())
    points: set[str] = set()
    with contextlib.suppress(OSError):
        for line in _MOUNTINFO.read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")  # octal escapes such as \040
            if point == prefix or point.startswith(prefix + "/"):
                points.add(point)
    return sorted(points, key=len, reverse=True)  # deepest first: the order to unmount in


def remove_tree(directory: Path) -> list[str]:
    """Remove a debootstrap work dir; returns the mounts that kept it in place. A failed debootstrap can leave
    /proc or a bind mount of /dev inside its target, and deleting through a mount would delete the host's
    files: unmount first, and keep the dir when that fails."""
    for point in mounts_under(directory):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    remaining = mounts_under(directory)
    if not remaining:
        shutil.rmtree(directory, ignore_errors=True)
    return remaining
