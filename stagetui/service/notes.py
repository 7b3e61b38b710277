"""Retrospective notes: added from the CLI or the UI, stored in the local store, drafts kept on disk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from stagetui.domain.notes import Note, NoteError, check_note
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError, ConflictError, NotFoundError
from stagetui.store.drafts import Draft, DraftStore

COLLECTION = "notes"


def drafts(core: ServiceCore) -> DraftStore:
    return DraftStore(core.paths.root / "drafts")


def new_draft_key() -> str:
    return uuid.uuid4().hex


def to_record(note: Note) -> dict[str, Any]:
    return {
        **note.__dict__,
        "created_at": note.created_at.isoformat(),
        "updated_at": note.updated_at.isoformat(),
    }


def from_record(record: dict[str, Any]) -> Note:
    return Note(
        **{
            **record,
            "created_at": datetime.fromisoformat(record["created_at"]),
            "updated_at": datetime.fromisoformat(record["updated_at"]),
        }
    )


def add_note(
    core: ServiceCore,
    title: str,
    body: str,
    *,
    benchmark: str | None = None,
    experiment: str | None = None,
    draft_key: str | None = None,
    known_benchmarks: set[str] | None = None,
    known_experiments: set[str] | None = None,
) -> Note:
    """Store a note; its draft (if any) is discarded only after the note is safely written."""
    try:
        check_note(title, body)
    except NoteError as error:
        raise BadInputError(str(error)) from None
    if benchmark and known_benchmarks is not None and benchmark not in known_benchmarks:
        raise BadInputError(f"no benchmark named {benchmark!r}")
    if experiment and known_experiments is not None and experiment not in known_experiments:
        raise BadInputError(f"no experiment named {experiment!r}")
    now = core.clock()
    note = Note(uuid.uuid4().hex[:12], title.strip(), body, core.owner, now, now, benchmark, experiment)
    core.store.collection(COLLECTION).put(to_record(note))
    if draft_key:
        drafts(core).discard(draft_key)
    core.audit("note", note.id, f"retrospective note {note.title!r} ({note.linked_to})")
    return note


def save_draft(core: ServiceCore, draft: Draft) -> None:
    drafts(core).save(draft)


def list_notes(core: ServiceCore) -> list[Note]:
    notes = [from_record(r) for r in core.store.collection(COLLECTION).all()]
    return sorted(notes, key=lambda n: n.created_at, reverse=True)


def get_note(core: ServiceCore, reference: str) -> Note:
    matches = [n for n in list_notes(core) if n.id == reference or (reference and n.id.startswith(reference))]
    if not matches:
        raise NotFoundError(f"no note matches {reference!r} (see `stagetui note list`)")
    if len(matches) > 1:
        raise ConflictError(f"{reference!r} matches several notes: {', '.join(n.id for n in matches)}")
    return matches[0]
