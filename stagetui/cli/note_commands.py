"""note add | list | show: retrospective notes from the command line."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.domain.notes import TEMPLATE, Note
from stagetui.service import notes
from stagetui.service.errors import BadInputError, ServiceError
from stagetui.store.atomic import atomic_write_text
from stagetui.store.drafts import Draft


class NoteNotSavedError(ServiceError):
    """The store could not take the note (disk full, say); the message says where its text is."""

    exit_code = exit_codes.STATE_ERROR


def note_to_json(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "title": note.title,
        "author": note.author,
        "created_at": note.created_at.isoformat(),
        "benchmark": note.benchmark,
        "experiment": note.experiment,
        "action_items": [{"done": done, "text": text} for done, text in note.action_items],
        "body": note.body,
    }


def _body_from_editor(ctx: CliContext, draft: Draft) -> str:
    """Open $EDITOR on a draft file kept in the state directory: if anything fails, the text stays there."""
    store = notes.drafts(ctx.service.core)
    store.save(draft)
    path = store.directory / f"{draft.key}.md"
    atomic_write_text(path, draft.body)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    if subprocess.call([*shlex.split(editor), str(path)]) != 0:
        raise BadInputError(f"the editor failed; your text is kept in {path}")
    body = path.read_text(encoding="utf-8")
    try:
        store.save(Draft(draft.key, draft.title, body, draft.benchmark, draft.experiment))
    except OSError as error:
        raise NoteNotSavedError(f"the note was not saved: {error}; your text is kept in {path}") from None
    path.unlink()
    return body


def _kept(ctx: CliContext, draft: Draft, source: str | None) -> str:
    """Where the text of a note the store could not take is now: nothing the user typed may be lost."""
    if source is not None:
        return f"its text is still in {source}"
    store = notes.drafts(ctx.service.core)
    if store.load(draft.key) != draft:  # text from $EDITOR is in its draft already
        try:
            store.save(draft)
        except OSError:
            # Most likely the same full disk: the terminal is the one place left to keep it.
            sys.stderr.write(draft.body if draft.body.endswith("\n") else draft.body + "\n")
            sys.stderr.flush()
            return "it could not be kept as a draft either, so its text was written to standard error"
    where = store.path(draft.key)
    return f"its text is kept as the draft {where} (the notes screen of `stagetui tui` offers it)"


def run_note_add(args: argparse.Namespace, ctx: CliContext) -> int:
    key = notes.new_draft_key()
    source = None
    if args.file and args.file != "-":
        source = args.file
        try:
            body = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BadInputError(f"--file: {error}") from None
    elif args.file == "-" or not sys.stdin.isatty():
        body = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        if not body.strip():
            raise BadInputError(
                "the note is empty (nothing came on standard input); use --file or a terminal"
            )
    else:
        body = _body_from_editor(ctx, Draft(key, args.title, TEMPLATE, args.benchmark, args.experiment))
    try:
        note = ctx.service.add_note(
            args.title, body, benchmark=args.benchmark, experiment=args.experiment, draft_key=key
        )
    except OSError as error:
        kept = _kept(ctx, Draft(key, args.title, body, args.benchmark, args.experiment), source)
        raise NoteNotSavedError(f"the note was not saved: {error}; {kept}") from None
    if ctx.json_output:
        ctx.emit_json(note_to_json(note))
    else:
        ctx.show(f"[green]✓[/] note {note.id} saved: {escape(note.title)} ({escape(note.linked_to)})")
    return exit_codes.OK


def run_note_list(args: argparse.Namespace, ctx: CliContext) -> int:
    found = notes.list_notes(ctx.service.core)
    if ctx.json_output:
        ctx.emit_json([note_to_json(n) for n in found])
        return exit_codes.OK
    if not found:
        ctx.show("no notes yet (stagetui note add --title ...)")
        return exit_codes.OK
    table = Table(title="Retrospective notes", title_justify="left")
    for column in ("id", "when", "title", "linked to", "open actions"):
        table.add_column(column)
    for note in found:
        open_items = sum(1 for done, _ in note.action_items if not done)
        table.add_row(
            note.id, f"{note.created_at:%Y-%m-%d %H:%M}", Text(note.title), note.linked_to, str(open_items)
        )
    ctx.show(table)
    return exit_codes.OK


def run_note_show(args: argparse.Namespace, ctx: CliContext) -> int:
    note = notes.get_note(ctx.service.core, args.note)
    if ctx.json_output:
        ctx.emit_json(note_to_json(note))
        return exit_codes.OK
    when = f"{note.created_at:%Y-%m-%d %H:%M} UTC"
    ctx.show(
        f"[bold]{escape(note.title)}[/]  ·  {escape(note.author)}  ·  {when}  ·  {escape(note.linked_to)}"
    )
    ctx.show(Markdown(note.body))
    return exit_codes.OK


def register(commands: Any, add_json: Any) -> None:
    note = commands.add_parser("note", help="retrospective notes (what worked, what did not, actions)")
    sub = note.add_subparsers(dest="note_command", metavar="COMMAND", required=True)
    add = sub.add_parser("add", help="write a note (from --file, standard input, or $EDITOR)")
    add.set_defaults(handler=run_note_add)
    add.add_argument("--title", "-t", required=True, help="the note's title")
    add.add_argument("--benchmark", "-b", help="link it to a benchmark")
    add.add_argument("--experiment", "-e", help="link it to an experiment")
    add.add_argument("--file", "-f", help="markdown file with the body ('-' reads standard input)")
    add_json(add)
    listing = sub.add_parser("list", help="every note, newest first")
    listing.set_defaults(handler=run_note_list)
    add_json(listing)
    show = sub.add_parser("show", help="one note, rendered")
    show.set_defaults(handler=run_note_show)
    show.add_argument("note", metavar="ID", help="note id or unique prefix")
    add_json(show)
