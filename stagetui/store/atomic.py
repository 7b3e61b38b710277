"""Crash-safe file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from stagetui.store.private import FILE_MODE, make_private_directory


class FileWriteError(OSError):
    """A file could not be written (disk full, quota, read-only file system, I/O error). The file keeps its
    previous content and no temp file is left. An OSError still, with the original errno, for callers that
    catch those; its text names the file, which the OSError of a failed write() does not."""

    def __str__(self) -> str:
        reason = self.strerror or "write failed"
        return f"cannot write {self.filename}: {reason}; its previous content is intact"


def atomic_write_bytes(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write to a temp file in the same directory, fsync it, rename over `path`, fsync the directory.
    Owner-only by default (mkstemp creates the temp file 0600, so no window where others can read it);
    a wider `mode` is for files the user asked for outside the state directory."""
    try:
        make_private_directory(path.parent)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise FileWriteError(error.errno, error.strerror, str(path)) from error
    temp = Path(temp_name)
    try:
        try:
            # Unbuffered: a buffered writer would retry its buffer on close and fail a second time.
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode != FILE_MODE:
            temp.chmod(mode)
        temp.replace(path)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise FileWriteError(error.errno, error.strerror, str(path)) from error
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: Path, text: str, mode: int = FILE_MODE) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable: the directory entry itself must reach the disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
