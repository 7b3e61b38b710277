"""tui, serve, keys: the terminal UI, the same UI in a browser, and the key binding table."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from rich.table import Table

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.config.keymap import BINDINGS


def _check_theme(ctx: CliContext) -> str | None:
    from stagetui.ui.themes import available_theme_names  # Textual loads only for the UI

    names = available_theme_names()
    theme = ctx.config.ui.theme
    if theme not in names:
        return f"{ctx.config_path}: ui.theme: unknown theme {theme!r}; available: {', '.join(names)}"
    return None


def run_tui(args: argparse.Namespace, ctx: CliContext) -> int:
    problem = _check_theme(ctx)
    if problem:
        ctx.err.print(f"[red]stagetui: error:[/] {problem}", soft_wrap=True, highlight=False, markup=True)
        return exit_codes.BAD_INPUT
    from stagetui.ui.app import StagetuiApp

    StagetuiApp(ctx.service).run()
    return exit_codes.OK


def run_serve(args: argparse.Namespace, ctx: CliContext) -> int:
    """The same app in a browser (textual-serve), each browser session running its own `stagetui tui`.
    Beyond loopback a token is required, checked before anything binds; anyone reaching an open port
    could otherwise launch and tear down environments."""
    from stagetui.cli.serve_auth import TOKEN_ENV, is_loopback

    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token and not is_loopback(args.host):
        ctx.err.print(
            f"[red]stagetui: error:[/] serve --host {args.host} is beyond loopback and needs a token: "
            f"pass --token TOKEN or set ${TOKEN_ENV}",
            soft_wrap=True,
            highlight=False,
            markup=True,
        )
        return exit_codes.BAD_INPUT
    problem = _check_theme(ctx)
    if problem:
        ctx.err.print(f"[red]stagetui: error:[/] {problem}", soft_wrap=True, highlight=False, markup=True)
        return exit_codes.BAD_INPUT
    from textual_serve.server import Server

    from stagetui.cli.serve_auth import TokenServer

    command = shlex.join([sys.executable, "-m", "stagetui", "--config", str(ctx.config_path), "tui"])
    if not token:
        ctx.note(f"serving stagetui on http://{args.host}:{args.port} (Ctrl-C stops)")
        Server(command, host=args.host, port=args.port, title="stagetui").serve()
        return exit_codes.OK
    # The token is never echoed: it may sit in shell history already, it should not land in logs too.
    ctx.note(f"serving stagetui on http://{args.host}:{args.port}/?token=<your token> (Ctrl-C stops)")
    TokenServer(command, host=args.host, port=args.port, title="stagetui", token=token).serve()
    return exit_codes.OK


def run_keys(args: argparse.Namespace, ctx: CliContext) -> int:
    keymap = ctx.config.ui.keymap
    rows = [(s.id, keymap.get(s.id, s.key), s.description, s.tooltip) for s in BINDINGS]
    if ctx.json_output:
        ctx.emit_json([{"id": i, "key": k, "description": d, "tooltip": t} for i, k, d, t in rows])
        return exit_codes.OK
    table = Table(title="Key bindings (override in the config under ui.keymap)", title_justify="left")
    for column in ("id", "key", "action", "what it does"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    ctx.show(table)
    return exit_codes.OK
