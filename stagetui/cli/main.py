"""The `stagetui` command: argument parsing, dispatch, and turning errors into one line and an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rich.markup import escape

from stagetui import __version__
from stagetui.cli import (
    cluster_commands,
    cycle_commands,
    drift_commands,
    exit_codes,
    export_commands,
    note_commands,
    pool_commands,
    render_commands,
)
from stagetui.cli.context import CliContext
from stagetui.cli.data_commands import add_data_commands
from stagetui.cli.demo import run_demo
from stagetui.cli.environment_commands import run_down, run_gc, run_ls, run_show, run_up
from stagetui.cli.other_commands import run_config_check
from stagetui.cli.tui_commands import run_keys, run_serve, run_tui
from stagetui.config import ConfigError
from stagetui.domain.models import Strategy
from stagetui.service.errors import ServiceError
from stagetui.store.atomic import FileWriteError
from stagetui.store.lock import StoreLockTimeout
from stagetui.store.storage import StoreCorruptedError
from stagetui.store.store import StoreVersionError

Handler = Callable[[argparse.Namespace, CliContext], int]
STRATEGIES = [s.value for s in Strategy]


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    # argparse exits 2 on bad usage: the same code as BAD_INPUT.
    parser = argparse.ArgumentParser(
        prog="stagetui",
        description="Provision, measure and compare test environments.",
        epilog=exit_codes.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stagetui {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $STAGETUI_CONFIG, ./stagetui.yaml, ./sample_config.yaml, "
        "else the packaged sample)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str, *, json: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=exit_codes.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        if json:
            _json_flag(sub)
        return sub

    up = command("up", run_up, "provision an environment for a branch")
    up.add_argument("branch", help="branch name (any text; it is turned into a safe environment id)")
    up.add_argument("--strategy", "-s", choices=STRATEGIES, help="how to provision (default from config)")
    up.add_argument(
        "--tier",
        choices=["unit", "integration", "feature", "pre_release"],
        help="pick the strategy by test tier (hybrid policy in config)",
    )
    up.add_argument(
        "--runtime", "-r", help="where it runs: local, docker, swarm or aws (default from config)"
    )
    up.add_argument("--ttl", help="lifetime, e.g. 30m, 8h, 2d (default from config)")
    up.add_argument("--owner", help="owner recorded on the environment (default: config owner or login)")

    down = command("down", run_down, "tear an environment down and remove everything it created")
    down.add_argument("environment", metavar="ENV", help="environment id, branch name or unique id prefix")

    ls = command("ls", run_ls, "list environments, reconciled with what the runtimes hold")
    ls.add_argument("--all", "-a", action="store_true", help="include torn-down and failed environments")

    show = command("show", run_show, "one environment: step timings, freshness, drift, checks, log tail")
    show.add_argument("environment", metavar="ENV", help="environment id, branch name or unique id prefix")

    gc = command("gc", run_gc, "remove expired, interrupted and leftover environments")
    gc.add_argument("--dry-run", "-n", action="store_true", help="only list what would be removed")

    add_data_commands(command, commands)

    config = commands.add_parser("config", help="configuration files")
    config_commands = config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    check = config_commands.add_parser("check", help="validate a config file and report every problem")
    check.set_defaults(handler=run_config_check)
    check.add_argument("file", nargs="?", help="file to check (default: the config in use)")
    _json_flag(check)

    command("tui", run_tui, "open the terminal UI (also what `stagetui` alone does)", json=False)
    serve = command("serve", run_serve, "show the terminal UI in a browser, for meetings", json=False)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--token",
        help="require this token on every request (default: $STAGETUI_SERVE_TOKEN; needed beyond loopback)",
    )
    command("keys", run_keys, "list the UI's key bindings with their ids (for ui.keymap)")

    cycle_commands.register(commands, _json_flag)
    note_commands.register(commands, _json_flag)
    export_commands.register(commands, _json_flag)
    drift_commands.register(commands, _json_flag)
    pool_commands.register(commands, _json_flag)
    cluster_commands.register(command)
    render_commands.register(commands, _json_flag)

    demo = command("demo", run_demo, "provision the sample production with each strategy and compare them")
    demo.add_argument(
        "--branch", default="main", help="branch name for the demo environments (default: main)"
    )
    demo.add_argument("--ttl", help="lifetime of the demo environments (default from config)")
    demo.add_argument(
        "--open-ui", action="store_true", help="then open the terminal UI on them (when on a terminal)"
    )
    return parser


NEGATIVE_VALUE_OPTIONS = ("--expect",)
"""Options whose value may start with '-' ("-50%"), which argparse would take for an option."""


def _join_negative_values(argv: Sequence[str]) -> list[str]:
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1] in NEGATIVE_VALUE_OPTIONS and arg.startswith("-"):
            joined[-1] = f"{joined[-1]}={arg}"
        else:
            joined.append(arg)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(drift_commands.normalise_argv(_join_negative_values(raw)))
    handler: Handler = getattr(args, "handler", run_tui)
    ctx = CliContext(args.config, json_output=getattr(args, "json", False))
    try:
        return handler(args, ctx)
    except ConfigError as error:
        return _fail(ctx, exit_codes.BAD_INPUT, str(error))
    except ServiceError as error:
        return _fail(ctx, error.exit_code, str(error))
    except (StoreLockTimeout, StoreCorruptedError, StoreVersionError, FileWriteError) as error:
        return _fail(ctx, exit_codes.STATE_ERROR, str(error))
    except KeyboardInterrupt:
        return _fail(ctx, exit_codes.INTERRUPTED, "interrupted; in-flight provisioning was rolled back")


def _fail(ctx: CliContext, code: int, message: str) -> int:
    if ctx.json_output:
        ctx.emit_json({"error": message, "exit_code": code})
    else:
        # soft_wrap: an error stays one line per problem, however narrow the terminal, so it can be grepped.
        ctx.err.print(f"[red]stagetui: error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
