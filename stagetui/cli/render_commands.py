"""render --target kubernetes ENV: an environment as manifests, a YAML stream (or a JSON list with --json)
on stdout or, atomically, in a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.markup import escape

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.runtimes.kubernetes.manifests import not_rendered
from stagetui.service import render
from stagetui.service.errors import BadInputError, OperationFailedError
from stagetui.store.atomic import atomic_write_text

TARGETS = ("kubernetes",)
_NO_FOLDING = 1 << 16
"""Line width for YAML: long strings stay on one line, as written, instead of folded."""


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (config files, note lists) as literal blocks, the way people write them."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockDumper.add_representer(str, _represent_text)


def yaml_stream(rendered: render.RenderedEnvironment) -> str:
    """The manifests as one multi-document YAML stream, after a header saying what was rendered from what
    and what was not."""
    env = rendered.environment
    header = [
        f"stagetui render --target kubernetes: {env.id} (branch {env.branch!r}, {env.strategy.value}, "
        f"runtime {env.runtime})",
        f"compose file: {rendered.compose_file}",
        *rendered.remarks,
    ]
    notes = not_rendered(rendered.manifests)
    if notes:
        header += ["not rendered (also in each object's stagetui.io/not-rendered annotation):"]
        header += [f"  - {note}" for note in notes]
    comment = "".join(f"# {' '.join(line.splitlines())}".rstrip() + "\n" for line in header)
    body = yaml.dump_all(
        rendered.manifests, Dumper=_BlockDumper, sort_keys=False, explicit_start=True, width=_NO_FOLDING
    )
    return comment + body


def _output(path: str | None, force: bool) -> Path | None:
    if path is None:
        return None
    output = Path(path)
    if output.is_dir():
        raise BadInputError(f"--output {output} is a directory")
    if output.exists() and not force:
        raise BadInputError(f"--output {output} exists; add --force to overwrite it")
    return output


def run_render(args: argparse.Namespace, ctx: CliContext) -> int:
    output = _output(args.output, args.force)  # refused before any work: nothing changes
    rendered = render.render_kubernetes(ctx.service.core, args.environment)
    text = json.dumps(rendered.manifests, indent=2) + "\n" if ctx.json_output else yaml_stream(rendered)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            atomic_write_text(output, text, mode=0o600)  # it holds the environment's Secrets
        except OSError as error:
            raise OperationFailedError(f"writing {output}: {error.strerror or error}") from None
    notes = not_rendered(rendered.manifests)
    where = f" to {escape(str(output))}" if output else ""
    ctx.note(
        f"rendered {len(rendered.manifests)} manifest(s) of {rendered.environment.id}{where}; "
        f"{len(notes)} note(s) on what is not rendered"
    )
    return exit_codes.OK


def register(commands: Any, add_json: Any) -> None:
    parser = commands.add_parser(
        "render",
        help="render an environment as another runtime's definition (Kubernetes manifests)",
        description="Render an environment as Kubernetes manifests: a multi-document YAML stream (a JSON\n"
        "list with --json). What Kubernetes cannot express is listed in each object's\n"
        "stagetui.io/not-rendered annotation.",
        epilog=exit_codes.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run_render)
    parser.add_argument("environment", metavar="ENV", help="environment id, branch name or unique id prefix")
    parser.add_argument("--target", "-t", choices=TARGETS, required=True, help="what to render for")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    parser.add_argument("--force", "-f", action="store_true", help="overwrite an existing --output FILE")
    add_json(parser)
