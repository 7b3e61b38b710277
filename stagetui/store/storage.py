"""A TinyDB storage that writes atomically and refuses to paper over a corrupted file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from stagetui.store.atomic import atomic_write_text


class StoreCorruptedError(RuntimeError):
    """A store file that is not valid JSON: never overwritten, so nothing recorded is lost."""


def parse_document(path: Path, text: str) -> dict[str, dict[str, Any]]:
    """A TinyDB document ({} for an empty file); StoreCorruptedError naming the file and line otherwise."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StoreCorruptedError(
            f"{path}:{error.lineno}: store file is not valid JSON ({error.msg}); "
            "it was left untouched — restore it from a backup or move it aside"
        ) from None
    if not isinstance(data, dict):
        raise StoreCorruptedError(f"{path}: store file does not hold a TinyDB document")
    return data


class AtomicJSONStorage(Storage):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return parse_document(self.path, text) or None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        atomic_write_text(self.path, json.dumps(data, separators=(",", ":"), sort_keys=True))

    def close(self) -> None:
        pass
