"""config check: the config file, and the compose files the docker and swarm runtimes would use."""

from __future__ import annotations

import argparse
import os

from rich.markup import escape

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.compose.parse import ComposeError, load_compose
from stagetui.compose.sample import packaged_compose
from stagetui.config import ConfigError, load_config, resolve_config_path
from stagetui.runtimes.base import RuntimeOperationError
from stagetui.runtimes.swarm.definition import load_swarm_project


def run_config_check(args: argparse.Namespace, ctx: CliContext) -> int:
    path = resolve_config_path(args.file or ctx.config_option)
    try:
        config = load_config(path)
    except ConfigError as error:
        if ctx.json_output:
            ctx.emit_json({"file": str(path), "ok": False, "problems": [str(p) for p in error.problems]})
        else:
            for problem in error.problems:
                ctx.err.print(f"[red]✗[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        return exit_codes.BAD_INPUT
    compose = config.runtimes.docker.compose or packaged_compose()
    swarm = config.runtimes.swarm
    try:
        project = load_compose(compose, os.environ)
        if swarm.compose is not None or config.defaults.runtime == "swarm":
            # What a cluster cannot run (builds, host paths) is refused too, before any `up`.
            load_swarm_project(swarm.compose or config.runtimes.docker.compose, dict(os.environ))
    except (ComposeError, RuntimeOperationError) as error:
        if ctx.json_output:
            ctx.emit_json({"file": str(path), "ok": False, "problems": [str(error)]})
        else:
            ctx.err.print(f"[red]✗[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        return exit_codes.BAD_INPUT
    rules = sum(len(columns) for columns in config.anonymization.tables.values())
    summary = (
        f"{len(config.drift.approved)} approved differences, {len(config.drift.severity)} severity rules, "
        f"{rules} masking rules, {len(project.services)} services in {compose.name}"
    )
    if ctx.json_output:
        ctx.emit_json({"file": str(path), "ok": True, "summary": summary})
    else:
        ctx.show(f"[green]✓[/] {escape(str(path))} is valid: {summary}")
    return exit_codes.OK
