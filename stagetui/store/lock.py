"""One lock for the state directory, shared by threads of this process and by other processes."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stagetui.store.private import FILE_MODE, make_private_directory


class StoreLockTimeout(RuntimeError):
    """Another process held the store lock for too long."""


class StateLock:
    """Re-entrant within a process (threading.RLock), exclusive across processes (flock)."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth == 0:
                self._acquire_file_lock()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release_file_lock()

    def acquire(self) -> None:
        """Hold the lock until release() (for holders that cannot use a with block); StoreLockTimeout
        when another process holds it past the timeout."""
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                self._acquire_file_lock()
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._release_file_lock()
        self._thread_lock.release()

    def _acquire_file_lock(self) -> None:
        make_private_directory(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreLockTimeout(
                        f"the store at {self.path.parent} stayed locked by another stagetui process "
                        f"for {self.timeout:.0f}s"
                    ) from None
                time.sleep(0.01)
        self._fd = fd

    def _release_file_lock(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
