"""Whole-file copies of a SQLite database: online via the backup API, or offline via reflink / plain copy."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from stagetui.data.sqlite_schema import ProgressFn, connect_readonly, connect_writable
from stagetui.store.private import make_private_directory

PAGES_PER_STEP = 1024  # 4 MiB at the default page size: a few dozen progress updates for ~100 MB
_FICLONE = 0x40049409  # linux/fs.h _IOW(0x94, 9, int)
_SIDECARS = ("-journal", "-wal", "-shm")


def _sidecar(db: Path, suffix: str) -> Path:
    return db.with_name(db.name + suffix)


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temp path next to ``target``; on success it replaces ``target``, on failure it is removed.

    Readers never see a half-written database, and stale journals of an older ``target`` are removed first:
    SQLite would otherwise replay them into the new file and corrupt it. The file stays owner-only (mkstemp's
    0600), as all state; a container running as another user reads the readable copy volumes.directory_tar
    makes.
    """
    make_private_directory(target.parent)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        for suffix in _SIDECARS:
            _sidecar(target, suffix).unlink(missing_ok=True)
        tmp.replace(target)
    except BaseException:
        for path in (tmp, *(_sidecar(tmp, s) for s in _SIDECARS)):
            path.unlink(missing_ok=True)
        raise


def backup_copy(source: Path, target: Path, progress: ProgressFn | None = None) -> None:
    """Consistent copy of a database that may be open and in use (SQLite online backup API)."""

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None and total:
            progress((total - remaining) / total, f"backup {total - remaining}/{total} pages")

    with (
        atomic_target(target) as tmp,
        closing(connect_readonly(source)) as src,
        closing(sqlite3.connect(tmp, isolation_level=None)) as dst,
    ):
        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        # The backup copies the source header, WAL flag included; a test copy should be a single file.
        dst.execute("PRAGMA journal_mode=DELETE")
    if progress is not None:
        progress(1.0, "backup complete")


def fast_copy(source: Path, target: Path) -> str:
    """Copy the file itself: a reflink where the filesystem can share extents, else a plain copy.

    Returns "reflink" or "copy". Not for databases being written to: use backup_copy for those.
    """
    checkpoint_wal(source)
    with atomic_target(target) as tmp:
        method = "reflink" if _reflink(source, tmp) else "copy"
        if method == "copy":
            shutil.copyfile(source, tmp)
        _leave_wal_mode(tmp)
    return method


def _leave_wal_mode(db: Path) -> None:
    """Make a copied WAL-mode file a single-file (DELETE journal) database, like backup_copy's output."""
    with db.open("rb") as file:
        header = file.read(20)
    if len(header) == 20 and header[18] == 2:  # file format read version 2 means WAL
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")


def checkpoint_wal(db: Path) -> None:
    """Move committed WAL frames into the main file, which is all a plain file copy reads.

    PASSIVE never waits on other connections; what matters is that every frame was backfilled, which is
    checked. (TRUNCATE would also empty the -wal, but blocks for the busy timeout while readers exist.)
    """
    wal = _sidecar(db, "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return
    with closing(connect_writable(db)) as conn:
        _busy, frames, backfilled = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if frames != backfilled:
        raise RuntimeError(
            f"could not checkpoint {db.name}: a reader holds an older snapshot (use backup_copy)"
        )


def _reflink(source: Path, target: Path) -> bool:
    """Clone the extents (Linux FICLONE); False where unsupported (ext4, tmpfs, other OSes, cross-device)."""
    if not sys.platform.startswith("linux"):
        return False
    import fcntl  # POSIX only, hence the late import

    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        except OSError:
            return False
    return True
