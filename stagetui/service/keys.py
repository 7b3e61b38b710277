"""The masking key: from an environment variable or a key file, never from the config or the store."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

from stagetui.config.model import AnonymizationConfig
from stagetui.store.atomic import fsync_directory
from stagetui.store.private import make_private_directory

MIN_KEY_BYTES = 16


class MaskKeyError(ValueError):
    pass


def load_mask_key(
    settings: AnonymizationConfig, default_key_file: Path, environ: Mapping[str, str] | None = None
) -> bytes:
    """The variable named by `key_env` wins; else `key_file`; else the default key file, created (0600)
    with a random key the first time, so a fresh machine works with nothing set up."""
    environ = os.environ if environ is None else environ
    value = environ.get(settings.key_env)
    if value:
        return _checked(value.encode("utf-8"), f"environment variable {settings.key_env}")
    path = settings.key_file or default_key_file
    if settings.key_file is None and not path.exists():
        _create_once(path, secrets.token_hex(32) + "\n")
    try:
        return _checked(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        raise MaskKeyError(
            f"masking key file {path} not found (set {settings.key_env} or create the file)"
        ) from None


def _create_once(path: Path, text: str) -> None:
    """Write `path` whole, only if it does not exist: of two first runs at once, the first to link its key
    wins and both read that one (a replacing write would let each mask with its own key)."""
    make_private_directory(path.parent)
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            path.hardlink_to(temp)
    finally:
        Path(temp).unlink()
    fsync_directory(path.parent)


def _checked(key: bytes, origin: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise MaskKeyError(f"masking key from {origin} is shorter than {MIN_KEY_BYTES} bytes")
    return key
