"""metrics, export, report, tests, outcomes: measurements in and out."""

from __future__ import annotations

import argparse
import http.server
import sys
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.domain.durations import InvalidDurationError, parse_duration
from stagetui.service import exports, test_results
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError
from stagetui.store.atomic import atomic_write_text

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def run_metrics(args: argparse.Namespace, ctx: CliContext) -> int:
    core = ctx.service.core
    if not args.serve:
        sys.stdout.write(exports.prometheus_text(core))
        return exit_codes.OK
    server = http.server.ThreadingHTTPServer((args.host, args.port), _metrics_handler(core))
    ctx.note(
        f"serving Prometheus metrics on http://{args.host}:{server.server_address[1]}/metrics (Ctrl-C stops)"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return exit_codes.OK


def _metrics_handler(core: ServiceCore) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404, "only /metrics lives here")
                return
            body = exports.prometheus_text(core).encode()
            self.send_response(200)
            self.send_header("Content-Type", PROMETHEUS_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # scrapes every few seconds would drown the terminal

    return Handler


def _write(ctx: CliContext, text: str, output: str | None) -> None:
    if output:
        atomic_write_text(Path(output), text, mode=0o644)  # the user's own file, outside the state dir
        ctx.note(f"written {output}")
    else:
        sys.stdout.write(text)


def run_export(args: argparse.Namespace, ctx: CliContext) -> int:
    since = None
    if args.since:
        try:
            since = ctx.service.now() - parse_duration(args.since)
        except InvalidDurationError as error:
            raise BadInputError(f"--since: {error}") from None
    _write(ctx, exports.export_metrics(ctx.service.core, args.format, since), args.output)
    return exit_codes.OK


def run_report(args: argparse.Namespace, ctx: CliContext) -> int:
    _write(ctx, exports.report_markdown(ctx.service.core), args.output)
    return exit_codes.OK


def run_tests_record(args: argparse.Namespace, ctx: CliContext) -> int:
    recorded = test_results.record_junit(ctx.service.core, args.environment, Path(args.file))
    run = recorded.run
    if ctx.json_output:
        ctx.emit_json({"id": recorded.id, "environment": recorded.environment.id, **_run_json(run)})
    else:
        rate = "n/a" if run.pass_rate is None else f"{run.pass_rate:.1%}"
        ctx.show(
            f"[green]✓[/] {recorded.environment.id}: {run.passed}/{run.tests} passed ({rate}), "
            f"{run.failures} failed, {run.errors} errors, {run.skipped} skipped"
        )
    return exit_codes.OK


def _run_json(run: Any) -> dict[str, Any]:
    fields = ("tests", "passed", "failures", "errors", "skipped", "seconds", "pass_rate", "flaky")
    return {name: getattr(run, name) for name in fields} | {"failed_cases": list(run.failed_cases)}


def run_tests_list(args: argparse.Namespace, ctx: CliContext) -> int:
    runs = test_results.test_runs(ctx.service.core, args.environment)
    if ctx.json_output:
        ctx.emit_json(runs)
        return exit_codes.OK
    table = Table(title="Test runs", title_justify="left")
    for column in ("when", "environment", "strategy", "passed", "failed", "pass rate", "source"):
        table.add_column(column)
    for run in runs:
        rate = "-" if run["pass_rate"] is None else f"{run['pass_rate']:.1%}"
        failed = str(run["failures"] + run["errors"])
        table.add_row(
            str(run["at"])[:16],
            run["environment_id"],
            run["strategy"],
            f"{run['passed']}/{run['tests']}",
            failed,
            rate,
            Text(Path(run["source"]).name),
        )
    ctx.show(table if runs else "no test runs recorded (stagetui tests record ENV junit.xml)")
    return exit_codes.OK


def run_outcomes_import(args: argparse.Namespace, ctx: CliContext) -> int:
    new, total = test_results.import_outcomes(ctx.service.core, Path(args.file))
    if ctx.json_output:
        ctx.emit_json({"imported": new, "rows": total})
    else:
        ctx.show(f"[green]✓[/] {new} new production outcome(s) of {total} row(s)")
    return exit_codes.OK


def register(commands: Any, add_json: Any) -> None:
    metrics = commands.add_parser("metrics", help="Prometheus text exposition (or --serve it on loopback)")
    metrics.set_defaults(handler=run_metrics)
    metrics.add_argument("--serve", action="store_true", help="serve GET /metrics instead of printing once")
    metrics.add_argument("--host", default="127.0.0.1", help="address for --serve (default: loopback)")
    metrics.add_argument("--port", type=int, default=9464, help="port for --serve (default: 9464)")

    export = commands.add_parser("export", help="every recorded metric sample as JSON or CSV")
    export.set_defaults(handler=run_export)
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--since", help="only the last DURATION (e.g. 14d)")
    export.add_argument("--output", "-o", help="write to FILE instead of standard output")

    report = commands.add_parser(
        "report", help="a Markdown report of strategies, benchmarks, experiments, notes"
    )
    report.set_defaults(handler=run_report)
    report.add_argument("--output", "-o", help="write to FILE instead of standard output")

    tests = commands.add_parser("tests", help="test results (JUnit XML) per environment")
    sub = tests.add_subparsers(dest="tests_command", metavar="COMMAND", required=True)
    record = sub.add_parser("record", help="ingest a JUnit XML file for an environment")
    record.set_defaults(handler=run_tests_record)
    record.add_argument("environment", metavar="ENV")
    record.add_argument("file", metavar="JUNIT_XML")
    add_json(record)
    listing = sub.add_parser("list", help="recorded test runs")
    listing.set_defaults(handler=run_tests_list)
    listing.add_argument("environment", metavar="ENV", nargs="?")
    add_json(listing)

    outcomes = commands.add_parser("outcomes", help="production outcomes (escaped defects, incidents)")
    outcome_commands = outcomes.add_subparsers(dest="outcomes_command", metavar="COMMAND", required=True)
    importing = outcome_commands.add_parser(
        "import", help="import a CSV (date, kind, severity, strategy, ...)"
    )
    importing.set_defaults(handler=run_outcomes_import)
    importing.add_argument("file", metavar="CSV")
    add_json(importing)
