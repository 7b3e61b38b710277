"""The masking key: from an environment variable or a key file, never from the config or the store."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from stagetui.config.model import AnonymizationConfig
from stagetui.store.atomic import atomic_write_text

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
        atomic_write_text(path, secrets.token_hex(32) + "\n", mode=0o600)
    try:
        return _checked(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        raise MaskKeyError(
            f"masking key file {path} not found (set {settings.key_env} or create the file)"
        ) from None


def _checked(key: bytes, origin: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise MaskKeyError(f"masking key from {origin} is shorter than {MIN_KEY_BYTES} bytes")
    return key
