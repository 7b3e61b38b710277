"""Retrospective notes: markdown the team writes about a benchmark or an experiment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

TEMPLATE = "## What worked\n\n## What did not\n\n## Action items\n- [ ] \n"

MAX_TITLE = 120
MAX_BODY = 200_000


class NoteError(ValueError):
    pass


@dataclass(frozen=True)
class Note:
    id: str
    title: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    benchmark: str | None = None
    experiment: str | None = None

    @property
    def linked_to(self) -> str:
        if self.experiment:
            return f"experiment {self.experiment}"
        if self.benchmark:
            return f"benchmark {self.benchmark}"
        return "-"

    @property
    def action_items(self) -> list[tuple[bool, str]]:
        """Markdown task-list items anywhere in the body: (done, text)."""
        return [
            (mark.lower() == "x", text.strip())
            for mark, text in re.findall(r"^\s*[-*] \[( |x|X)\] (.+)$", self.body, re.MULTILINE)
        ]


def check_note(title: str, body: str) -> None:
    """Raise NoteError when a note cannot be stored as given (nothing is lost: callers keep the draft)."""
    if not title.strip():
        raise NoteError("a note needs a title")
    if len(title) > MAX_TITLE:
        raise NoteError(f"the title is longer than {MAX_TITLE} characters")
    if len(body) > MAX_BODY:
        raise NoteError(f"the note is longer than {MAX_BODY:,} characters")
