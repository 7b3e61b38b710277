from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from stagetui.domain.notes import Note, NoteError, check_note
from stagetui.store.drafts import Draft, DraftStore

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_action_items_and_links() -> None:
    body = "## Action items\n- [ ] roll out to snapshots\n- [x] measure a week\n"
    body += "* [ ] write docs\nnot - [ ] this\n"
    note = Note("n1", "Retro", body, "me", NOW, NOW, experiment="parallel-copy")
    assert note.action_items == [
        (False, "roll out to snapshots"),
        (True, "measure a week"),
        (False, "write docs"),
    ]
    assert note.linked_to == "experiment parallel-copy"


@pytest.mark.parametrize(
    ("title", "body", "problem"),
    [("", "x", "needs a title"), ("x" * 121, "", "longer than 120"), ("t", "x" * 200_001, "longer than")],
)
def test_notes_that_cannot_be_stored_say_why(title: str, body: str, problem: str) -> None:
    with pytest.raises(NoteError, match=problem):
        check_note(title, body)


def test_drafts_round_trip_and_keys_cannot_escape_the_folder(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    draft = Draft("0123456789abcdef", "Title", "body ☃", benchmark="zero-drift")
    store.save(draft)
    assert store.load(draft.key) == draft and store.all() == [draft]
    assert (tmp_path / "drafts" / f"{draft.key}.json").stat().st_mode & 0o777 == 0o600
    store.discard(draft.key)
    assert store.all() == []
    with pytest.raises(ValueError, match="not a draft key"):
        store.save(Draft("../../etc/passwd", "t", "b"))
