"""Drafts of notes being typed, one file each, written atomically on every pause in typing: a crash or a
kill while the editor is open loses at most the last keystrokes, never the note."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from stagetui.store.atomic import atomic_write_text


@dataclass(frozen=True)
class Draft:
    key: str
    title: str
    body: str
    benchmark: str | None = None
    experiment: str | None = None


_KEY = re.compile(r"^[a-f0-9]{8,64}$")


class DraftStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are generated hex; anything else could walk out of the folder
            raise ValueError(f"not a draft key: {key!r}")
        return self.directory / f"{key}.json"

    def save(self, draft: Draft) -> None:
        """Atomically: when it cannot be written (FileWriteError, e.g. disk full), the draft saved last
        is left as it was."""
        atomic_write_text(self.path(draft.key), json.dumps(draft.__dict__), mode=0o600)

    def load(self, key: str) -> Draft | None:
        try:
            return Draft(**json.loads(self.path(key).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def all(self) -> list[Draft]:
        drafts = [self.load(path.stem) for path in sorted(self.directory.glob("*.json"))]
        return [draft for draft in drafts if draft is not None]

    def discard(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
