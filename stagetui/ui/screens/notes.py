"""Retrospective notes: a markdown editor with a preview. What is typed is saved as a draft on every pause
and before the screen closes, so a crash never loses it; saving turns the draft into a note."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Markdown,
    Select,
    TabbedContent,
    TabPane,
    TextArea,
)

from stagetui.domain.notes import TEMPLATE, Note
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.service.notes import new_draft_key
from stagetui.store.drafts import Draft
from stagetui.ui.screens.confirm import ConfirmScreen
from stagetui.ui.tones import plain

AUTOSAVE_DELAY = 0.3
"""Seconds after the last keystroke before the draft is written."""
NO_LINK = "none"


@dataclass
class NotesLoaded(Message, bubble=False):
    notes: list[Note]
    drafts: list[Draft]
    links: list[tuple[str, str]]
    recover: bool = False
    """Open the newest draft in the editor (when the screen opens after a crash or a close)."""


@dataclass
class NoteSaved(Message, bubble=False):
    note: Note | None
    error: str = ""


class NotesScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="notes-back", tooltip="Back (the draft is kept)"),
        Binding(
            "ctrl+s", "save", "Save note", id="notes-save", tooltip="Store the note; the draft is discarded"
        ),
        Binding(
            "ctrl+n",
            "new_note",
            "New",
            id="notes-new",
            tooltip="Start a new note (the current draft is kept)",
        ),
        Binding(
            "ctrl+e",
            "toggle_preview",
            "Preview",
            id="notes-preview",
            tooltip="Switch between writing and preview",
        ),
        Binding(
            "ctrl+d",
            "discard_draft",
            "Discard draft",
            id="notes-discard",
            tooltip="Throw the selected draft away",
        ),
    ]

    def __init__(self, backend: StagetuiService) -> None:
        super().__init__()
        self.backend = backend
        self.sub_title = "retrospective notes"
        self.draft = Draft(new_draft_key(), "", TEMPLATE)
        self._autosave: Timer | None = None
        self._loading = False
        self._link_values: set[str] = {NO_LINK}
        self.notes: dict[str, Note] = {}
        self.drafts: dict[str, Draft] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="notes-layout"):
            yield DataTable(id="notes-table", cursor_type="row")
            with Vertical(id="note-editor"):
                yield Input(
                    placeholder="title, e.g. Snapshot experiment: week 1", id="note-title", compact=True
                )
                yield Select(
                    [(NO_LINK, NO_LINK)], value=NO_LINK, allow_blank=False, id="note-link", compact=True
                )
                with TabbedContent(id="note-tabs"):
                    with TabPane("Write", id="tab-write"):
                        yield TextArea(TEMPLATE, id="note-body", soft_wrap=True, show_line_numbers=False)
                    with TabPane("Preview", id="tab-preview"):
                        yield Markdown(TEMPLATE, id="note-preview")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#notes-table", DataTable)
        table.add_columns("when", "title", "linked to")
        table.border_title = "Notes"
        self.query_one("#note-editor").border_title = "Write (saved as a draft as you type)"
        self.query_one("#note-title", Input).focus()
        self._load(recover=True)

    @work(thread=True, exclusive=True, group="notes", exit_on_error=False)
    def _load(self, recover: bool = False) -> None:
        links = [
            (f"benchmark {name}", f"benchmark:{name}") for name in sorted(self.backend.benchmark_names())
        ]
        links += [(f"experiment {e.id}", f"experiment:{e.id}") for e in self.backend.experiments()]
        self.post_message(NotesLoaded(self.backend.notes(), self.backend.drafts(), links, recover))

    def on_notes_loaded(self, message: NotesLoaded) -> None:
        table = self.query_one("#notes-table", DataTable)
        table.clear()
        for draft in message.drafts:
            table.add_row("draft", plain(draft.title or "(untitled)"), "-", key=f"draft:{draft.key}")
        for note in message.notes:
            when = f"{note.created_at:%m-%d %H:%M}"
            table.add_row(when, plain(note.title), plain(note.linked_to), key=f"note:{note.id}")
        self.notes = {note.id: note for note in message.notes}
        self.drafts = {draft.key: draft for draft in message.drafts}
        # Prompts as Text: a string prompt is parsed as markup, and benchmark names are whatever was typed.
        options = [(plain(prompt), value) for prompt, value in message.links]
        self.query_one("#note-link", Select).set_options([(NO_LINK, NO_LINK), *options])
        self._link_values = {NO_LINK, *(value for _, value in message.links)}
        if message.recover and message.drafts:
            self._edit(message.drafts[-1])
            self.notify("recovered an unsaved draft", title="notes")

    # --- editing ------------------------------------------------------------------------------------
    def _edit(self, draft: Draft) -> None:
        self._loading = True
        self.draft = draft
        self.query_one("#note-title", Input).value = draft.title
        self.query_one("#note-body", TextArea).text = draft.body
        link = (
            f"benchmark:{draft.benchmark}"
            if draft.benchmark
            else f"experiment:{draft.experiment}"
            if draft.experiment
            else NO_LINK
        )
        select = self.query_one("#note-link", Select)
        select.value = link if link in self._link_values else NO_LINK
        self._loading = False

    def _current(self) -> Draft:
        link = str(self.query_one("#note-link", Select).value)
        kind, _, name = link.partition(":")
        return Draft(
            self.draft.key,
            self.query_one("#note-title", Input).value,
            self.query_one("#note-body", TextArea).text,
            name if kind == "benchmark" else None,
            name if kind == "experiment" else None,
        )

    @on(Input.Changed, "#note-title")
    @on(TextArea.Changed, "#note-body")
    @on(Select.Changed, "#note-link")
    def _typed(self) -> None:
        if self._loading:
            return
        if self._autosave is not None:
            self._autosave.stop()
        self._autosave = self.set_timer(AUTOSAVE_DELAY, self.save_draft_now)

    def save_draft_now(self) -> None:
        """Write the draft as it stands (synchronously: it must be on disk before anything else happens)."""
        self.draft = self._current()
        if not self.draft.title.strip() and self.draft.body.strip() == TEMPLATE.strip():
            return  # nothing typed yet: no draft worth keeping
        try:
            self.backend.save_draft(self.draft)
        except OSError as error:
            self.notify(f"could not save the draft: {error}", severity="error")

    @on(TabbedContent.TabActivated, "#note-tabs")
    def _preview(self) -> None:
        self.query_one("#note-preview", Markdown).update(self.query_one("#note-body", TextArea).text)

    def action_toggle_preview(self) -> None:
        tabs = self.query_one("#note-tabs", TabbedContent)
        tabs.active = "tab-preview" if tabs.active == "tab-write" else "tab-write"

    @on(DataTable.RowSelected, "#notes-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        kind, _, key = str(event.row_key.value).partition(":")
        if kind == "draft" and key in self.drafts:
            self.save_draft_now()
            self._edit(self.drafts[key])
        elif kind == "note" and key in self.notes:
            self.query_one("#note-preview", Markdown).update(
                f"# {self.notes[key].title}\n\n{self.notes[key].body}"
            )
            self.query_one("#note-tabs", TabbedContent).active = "tab-preview"

    # --- saving -------------------------------------------------------------------------------------
    def action_save(self) -> None:
        if self._autosave is not None:
            # A pending autosave firing after the note is stored would write its draft back, and the
            # note would be offered again as a draft to recover.
            self._autosave.stop()
            self._autosave = None
        self.save_draft_now()
        self._store(self.draft)

    @work(thread=True, exclusive=True, group="save-note", exit_on_error=False)
    def _store(self, draft: Draft) -> None:
        try:
            note = self.backend.add_note(
                draft.title,
                draft.body,
                benchmark=draft.benchmark,
                experiment=draft.experiment,
                draft_key=draft.key,
            )
        except (ServiceError, OSError) as error:  # OSError: the store cannot be written (disk full)
            self.post_message(NoteSaved(None, str(error)))
            return
        self.post_message(NoteSaved(note))

    def on_note_saved(self, message: NoteSaved) -> None:
        if message.note is None:
            self.notify(f"{message.error} (the draft is kept)", severity="error")
            return
        self.notify(f"saved: {message.note.title}", title="note")
        self._edit(Draft(new_draft_key(), "", TEMPLATE))
        self._load()

    def action_new_note(self) -> None:
        self.save_draft_now()
        self._edit(Draft(new_draft_key(), "", TEMPLATE))
        self._load()

    def action_discard_draft(self) -> None:
        table = self.query_one("#notes-table", DataTable)
        if not table.row_count:
            return
        kind, _, key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value).partition(":")
        if kind != "draft":
            self.notify("select a draft to discard (saved notes are kept)", severity="warning")
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.backend.discard_draft(key)
                if key == self.draft.key:
                    self._edit(Draft(new_draft_key(), "", TEMPLATE))
                self._load()

        self.app.push_screen(ConfirmScreen("Throw this draft away?", "Discard"), confirmed)

    def action_back(self) -> None:
        self.save_draft_now()  # before the screen closes (untouched templates are not kept)
        self.dismiss(None)
