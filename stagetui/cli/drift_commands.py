"""drift ENV | --all, drift approve, drift approvals: configuration drift with a gate for CI.

Exit codes here follow what CI gates expect of a drift check: 0 within the threshold, 1 over it, 2 any
error (unknown environment, unreadable source, bad input)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from rich.table import Table
from rich.text import Text

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.cli.render import drift_lines
from stagetui.domain.drift_junit import render_junit
from stagetui.service import drift
from stagetui.service.errors import BadInputError, ServiceError

DRIFT_OVER_THRESHOLD = 1
DRIFT_ERROR = 2


def _json(check: drift.DriftCheck) -> dict[str, Any]:
    return {
        "environment": check.environment.id,
        "against": check.against,
        "at": check.at.isoformat(),
        "passed": check.threshold.passed,
        "reasons": list(check.threshold.reasons),
        "unapproved_by_severity": {k.value: v for k, v in check.threshold.unapproved_by_severity.items()},
        "approved_by_severity": {k.value: v for k, v in check.threshold.approved_by_severity.items()},
        **check.report.to_dict(),
    }


def _show(ctx: CliContext, checks: list[drift.DriftCheck], errors: list[tuple[str, str]], fmt: str) -> None:
    if fmt == "json":
        ctx.emit_json(
            {
                "checks": [_json(c) for c in checks],
                "errors": [{"environment": e, "error": m} for e, m in errors],
            }
        )
    elif fmt == "junit":
        reports = [(c.environment.id, c.report, c.threshold) for c in checks]
        sys.stdout.write(render_junit(reports, ctx.service.now(), errors))
    else:
        for check in checks:
            mark = "[green]✓[/]" if check.threshold.passed else "[red]✗[/]"
            ctx.show(
                Text.from_markup(f"{mark} {check.environment.id} against {check.against}: ")
                + Text(check.report.summary())
            )
            for reason in check.threshold.reasons:
                ctx.show(Text(f"  {reason}", style="red"))
            if check.report.items:
                ctx.show(drift_lines(check.report.to_dict()))
    if fmt != "json":  # stderr too, so a CI log names what could not be checked whatever the format
        for _, message in errors:
            ctx.err.print(Text(f"✗ {message}", style="red"), soft_wrap=True)


def run_drift(args: argparse.Namespace, ctx: CliContext) -> int:
    fmt = "json" if ctx.json_output else args.format
    try:
        if args.all:
            if args.environment or args.against != "production":
                raise BadInputError("--all checks every environment against production: no ENV or --against")
            results = ctx.service.drift_check_all()
            checks = [c for _, c, _ in results if c is not None]
            errors = [(env.id, error) for env, c, error in results if c is None]
        elif args.environment:
            checks, errors = [ctx.service.drift_check(args.environment, args.against)], []
        else:
            raise BadInputError("name an environment, or --all")
    except ServiceError as error:
        if fmt == "json":
            ctx.emit_json({"error": str(error), "exit_code": DRIFT_ERROR})
        else:
            ctx.err.print(Text(f"stagetui: error: {error}", style="red"), soft_wrap=True)
        return DRIFT_ERROR
    _show(ctx, checks, errors, fmt)
    if errors:
        return DRIFT_ERROR
    return exit_codes.OK if all(c.threshold.passed for c in checks) else DRIFT_OVER_THRESHOLD


def _errors_are_2(
    handler: Callable[[argparse.Namespace, CliContext], int],
) -> Callable[[argparse.Namespace, CliContext], int]:
    """Every drift command exits 2 on any error (unknown environment, bad input): what CI gates expect."""

    def run(args: argparse.Namespace, ctx: CliContext) -> int:
        try:
            return handler(args, ctx)
        except ServiceError as error:
            if ctx.json_output:
                ctx.emit_json({"error": str(error), "exit_code": DRIFT_ERROR})
            else:
                ctx.err.print(Text(f"stagetui: error: {error}", style="red"), soft_wrap=True)
            return DRIFT_ERROR

    return run


def run_approve(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        expires = date.fromisoformat(args.expires) if args.expires else None
    except ValueError:
        raise BadInputError(f"--expires: {args.expires!r} is not a date like 2026-12-31") from None
    approval = ctx.service.approve_drift(
        args.environment,
        args.path,
        reason=args.reason,
        approver=args.by,
        expires=expires,
        all_environments=args.all_environments,
    )
    if ctx.json_output:
        ctx.emit_json(approval.to_dict())
    else:
        scope = approval.environment or "every environment"
        until = f" until {approval.expires}" if approval.expires else ""
        ctx.show(
            Text(f"✓ approved {approval.pattern} for {scope}{until}: {approval.reason} ({approval.approver})")
        )
    return exit_codes.OK


def run_approvals(args: argparse.Namespace, ctx: CliContext) -> int:
    found = ctx.service.drift_approvals(args.environment)
    today = ctx.service.now().date()
    if ctx.json_output:
        ctx.emit_json(
            [{**a.to_dict(), "source": source, "expired": not a.is_valid_on(today)} for a, source in found]
        )
        return exit_codes.OK
    table = Table.grid(padding=(0, 2))
    for column in ("pattern", "for", "until", "who and why"):
        table.add_column(column, no_wrap=column != "who and why")
    table.add_row(
        *(Text(c, style="bold") for c in ("PATTERN", "FOR", "UNTIL", "APPROVED BY · REASON · FROM"))
    )
    for approval, source in found:
        expired = not approval.is_valid_on(today)
        until = Text(str(approval.expires or "-"), style="red" if expired else "")
        table.add_row(
            Text(approval.pattern),
            approval.environment or "all",
            until,
            Text(f"{approval.approver} · {approval.reason} · {source}"),
        )
    ctx.show(table if found else "no approved differences")
    return exit_codes.OK


SUBCOMMANDS = ("check", "approve", "approvals")


def normalise_argv(argv: list[str]) -> list[str]:
    """`stagetui drift ENV` is short for `stagetui drift check ENV` (argparse cannot mix an optional
    positional with subcommands)."""
    if "drift" not in argv:
        return argv
    at = argv.index("drift")
    rest = argv[at + 1 :]
    if rest and rest[0] not in SUBCOMMANDS and rest[0] not in {"-h", "--help"}:
        return [*argv[: at + 1], "check", *rest]
    return argv


def register(commands: Any, add_json: Any) -> None:
    parser = commands.add_parser(
        "drift",
        help="configuration drift against production (exit 0 within threshold, 1 over it, 2 error)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="drift_command", metavar="COMMAND", required=True)
    check = sub.add_parser("check", help="compare now: `stagetui drift ENV` or `stagetui drift --all`")
    check.set_defaults(handler=run_drift)
    check.add_argument("environment", metavar="ENV", nargs="?", help="environment id, branch or id prefix")
    check.add_argument("--all", action="store_true", help="check every live environment (for cron)")
    check.add_argument("--against", default="production", help="production (default) or another ENV")
    check.add_argument("--format", choices=["table", "json", "junit"], default="table")
    add_json(check)
    approve = sub.add_parser("approve", help="approve a difference (path pattern) for an environment")
    approve.set_defaults(handler=_errors_are_2(run_approve))
    approve.add_argument("environment", metavar="ENV")
    approve.add_argument("path", metavar="PATH", help="dotted key or glob, e.g. app.database.pool_size")
    approve.add_argument("--reason", required=True)
    approve.add_argument("--by", required=True, help="who approves it")
    approve.add_argument("--expires", help="last valid day, YYYY-MM-DD")
    approve.add_argument("--all-environments", action="store_true", help="approve it for every environment")
    add_json(approve)
    listing = sub.add_parser("approvals", help="approved differences (config and store)")
    listing.set_defaults(handler=_errors_are_2(run_approvals))
    listing.add_argument("environment", metavar="ENV", nargs="?")
    add_json(listing)
