"""A leak scan: after every strategy is provisioned and every read, drift, cycle, export and report command
has run, no production PII value and no secret value appears anywhere it should not — in the state
directory (store, audit trail, workspaces, environment databases as raw bytes, golden copies, service
logs), in any command's output, in export files, in what the services answer, or in the environment of
their processes. The values and the rule deciding which are worth searching: tests/integration/leak_scan.py.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import re
import sqlite3
import urllib.request
from collections.abc import Iterator
from contextlib import closing, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3
import docker
import psycopg
import pytest
from botocore.config import Config
from psycopg import sql
from psycopg.conninfo import make_conninfo

from stagetui.cli.main import main
from stagetui.config import load_config
from stagetui.data.engine import DataLocation
from stagetui.data.postgres import PostgresEngine
from stagetui.domain.anonymize import ColumnRule, MaskKind
from stagetui.sources.files import load_tree
from stagetui.strategies.provision import mask_rules
from tests.conftest import SMALL_CONFIG
from tests.integration.helpers import CliResult, cli, processes_of
from tests.integration.leak_scan import (
    PII,
    SECRET,
    Allowance,
    Finding,
    Needle,
    Scanner,
    config_secret_needles,
    distinguishing,
    pii_needles,
    secret_needle,
)
from tests.integration.moto_server import REGION

pytestmark = pytest.mark.integration

JUNIT = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "junit" / "pytest.xml"
OWN_SECRET = "environment secret"
"""Category of an environment's own secrets: in its config and its processes, never in the store,
drift output or exports (the design's "secrets are never shown, stored or exported")."""

# Distinctive values, so any hit is this test's secret and nothing else.
MASK_KEY = "leakscan-mask-key-5b1e0c7d9a2f"
AWS_SECRET = "leakscan-aws-secret-8c41f7e2"
SERVE_TOKEN = "leakscan-serve-token-a93d07"
SSM_SECRETS = {
    "/prod/shop/db/password": "leakscan-ssm-db-password-51c2",
    # Secret by its SecureString type alone: nothing in the name says so.
    "/prod/shop/payment/merchant_id": "leakscan-merchant-77d1",
}

PII_COLUMNS = (
    "customers.email",
    "customers.phone",
    "customers.full_name",
    "customers.address",
    "orders.shipping_address",
    "payments.payer_email",
)
"""Masked columns with distinguishing values (birth_date and card_last4 have none: see leak_scan.py)."""

STATE_ALLOWANCES = (
    Allowance("sample/production.db*", frozenset({PII}), "the sample production itself"),
    Allowance("sample/production_config/*", frozenset({SECRET}), "production's own config files"),
    Allowance("secrets/mask.key", frozenset({SECRET}), "the masking key file (unused with the variable)"),
    Allowance("environments/*/config/*", frozenset({OWN_SECRET}), "an environment's rendered config"),
)
OUTPUT_ALLOWANCES = (
    Allowance("http */config", frozenset({OWN_SECRET}), "the service shows its own config"),
    Allowance("proc *", frozenset({OWN_SECRET}), "services run with their own secrets"),
    Allowance("cli render *", frozenset({OWN_SECRET}), "Kubernetes Secrets carry the environment's own"),
    Allowance("file manifests.yaml", frozenset({OWN_SECRET}), "the same, written to a file"),
)


@dataclass
class Run:
    """Every command run and every answer fetched, kept for the scan."""

    config: Path
    outputs: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, expect: int | None = 0) -> CliResult:
        """The CLI in this process (a fresh interpreter per command would cost a second each): the same
        main() the `stagetui` script runs, its stdout and stderr captured."""
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--config", str(self.config), *args])
        result = CliResult(code, out.getvalue(), err.getvalue())
        self.keep(f"cli {' '.join(args)}", result)
        assert expect is None or code == expect, (args, result.stdout, result.stderr)
        return result

    def subprocess(self, *args: str, failpoints: str | None = None) -> CliResult:
        """The real command in its own process: for `up`, which starts services (and may crash)."""
        faults = {"STAGETUI_FAILPOINTS": failpoints} if failpoints else None
        result = cli(self.config, *args, extra_env=faults)
        self.keep(f"cli {' '.join(args)}" + (f" with failpoints {failpoints}" if failpoints else ""), result)
        assert (result.code != 0) == bool(failpoints), (args, result.stderr)
        return result

    def keep(self, label: str, result: CliResult) -> None:
        taken = sum(key == label or key.startswith(f"{label} #") for key in self.outputs)
        self.outputs[f"{label} #{taken + 1}" if taken else label] = f"{result.stdout}\n{result.stderr}"

    def fetch(self, env_id: str, endpoint: str, path: str) -> None:
        with urllib.request.urlopen(f"{endpoint}{path}", timeout=10) as response:
            self.outputs[f"http {env_id} {path}"] = response.read().decode()


def _ssm_production(endpoint: str) -> None:
    client = boto3.session.Session().client(
        "ssm", region_name=REGION, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1})
    )
    client.put_parameter(Name="/prod/shop/db/pool_size", Value="20", Type="String")
    for name, value in SSM_SECRETS.items():
        client.put_parameter(Name=name, Value=value, Type="SecureString")


@pytest.fixture
def leak_config(
    tmp_path: Path, state_dir: Path, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The small config, with production's config read from its files and from SSM (SecureStrings), the
    environments' from their rendered config and the variables their services actually run with, one
    benchmark, and secrets in the caller's environment that must reach nothing."""
    _ssm_production(aws_endpoint)
    monkeypatch.setenv("STAGETUI_MASK_KEY", MASK_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("STAGETUI_SERVE_TOKEN", SERVE_TOKEN)
    monkeypatch.setenv("COLUMNS", "400")  # tables wide enough that no value is cut short of the scan
    sources = (
        "  production_sources:\n"
        f"    - {{type: files, path: {state_dir / 'sample' / 'production_config'}}}\n"
        f"    - {{type: ssm, path: /prod/shop/, namespace: ssm, region: {REGION}, "
        f"endpoint_url: {aws_endpoint}}}\n"
        "  environment_sources: [{type: rendered}, {type: live_variables}]\n"
    )
    snapshots = "strategies:\n  snapshot:\n    refresh_after: 1s\n"  # so `refresh` has work to do
    benchmarks = (
        "benchmarks:\n"
        "  - {name: ready-fast, metric: provision.total_seconds, aggregation: median, target: 60}\n"
    )
    path = tmp_path / "stagetui.yaml"
    path.write_text(
        SMALL_CONFIG.format(customers=400).replace("drift:\n", "drift:\n" + sources) + snapshots + benchmarks
    )
    yield path


def _scan_everything(
    run: Run, state_dir: Path, needles: list[Needle], files: dict[str, Path], processes: dict[str, str]
) -> tuple[Scanner, list[Finding]]:
    scanner = Scanner(needles, STATE_ALLOWANCES + OUTPUT_ALLOWANCES)
    findings = scanner.scan_tree(state_dir)
    for label, text in run.outputs.items():
        findings += scanner.scan_text(label, text)
    for label, path in files.items():
        findings += scanner.scan_bytes(f"file {label}", path.read_bytes())
    for label, text in processes.items():
        findings += scanner.scan_text(label, text)
    return scanner, findings


CHANGED_CUSTOMERS = {
    1: ("Zoë Changed-Person", "changed.person+9001@mail.test", "+1-202-555-0999", "7 Rue des Changements"),
    2: ("Ågot Newly-Moved", "newly.moved+9002@post.test", "+44 20 7946 0999", "9 Nouvelle Allée"),
}
"""Production rows changed after the environments were made, with values no row had before."""


def _change_production(production: Path) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with closing(sqlite3.connect(production)) as conn:
        for key, (name, email, phone, address) in CHANGED_CUSTOMERS.items():
            conn.execute(
                "UPDATE customers SET full_name = ?, email = ?, phone = ?, address = ?, updated_at = ? "
                "WHERE id = ?",
                (name, email, phone, address, now, key),
            )
            conn.execute(
                "UPDATE orders SET shipping_address = ?, updated_at = ? WHERE customer_id = ?",
                (address, now, key),
            )
        conn.commit()


def _endpoints(run: Run) -> dict[str, str]:
    return {e["id"]: e["endpoint"] for e in run.cli("ls", "--json").json()}


def _visit_environments(run: Run) -> None:
    """What a user looks at for each live environment: its answers, `show` and its drift."""
    for env_id, endpoint in _endpoints(run).items():
        for path in ("/stats", "/customers?limit=100", "/config"):
            run.fetch(env_id, endpoint, path)
        run.cli("show", env_id)
        run.cli("show", env_id, "--json")
        run.cli("drift", env_id, "--format", "json", expect=None)


def _process_environments(state_dir: Path, env_ids: list[str]) -> dict[str, str]:
    """What each environment's processes run with and were started with (/proc environ and cmdline)."""
    found = {}
    for env_id in env_ids:
        pids = processes_of(env_id, state_dir)
        assert pids, f"no processes of {env_id}"
        for pid in pids:
            for part in ("environ", "cmdline"):
                raw = Path(f"/proc/{pid}/{part}").read_bytes()
                found[f"proc {env_id} {pid} {part}"] = raw.replace(b"\0", b"\n").decode(errors="replace")
    return found


def _needles(config: Path, state_dir: Path, rendered: list[Path]) -> list[Needle]:
    """Production's distinguishing PII values, every secret of production and of the caller's
    environment, and each environment's own secrets (from its `rendered` config)."""
    settings = load_config(config)
    production = pii_needles(state_dir / "sample" / "production.db", mask_rules(settings))
    patterns = settings.drift.secret_patterns
    secrets = config_secret_needles(load_tree(state_dir / "sample" / "production_config"), patterns)
    secrets += [secret_needle(value, f"ssm {name} (SecureString)") for name, value in SSM_SECRETS.items()]
    secrets += [
        secret_needle(MASK_KEY, "$STAGETUI_MASK_KEY"),
        secret_needle(AWS_SECRET, "$AWS_SECRET_ACCESS_KEY"),
        secret_needle(SERVE_TOKEN, "$STAGETUI_SERVE_TOKEN"),
    ]
    own = []
    for path in rendered:
        tree = json.loads(path.read_text(encoding="utf-8"))
        env_id = path.parent.parent.name
        own += [
            Needle(n.value, OWN_SECRET, f"{env_id} {n.origin}") for n in config_secret_needles(tree, patterns)
        ]
    return production + secrets + own


def _exercise_every_command(run: Run, tmp_path: Path, ids: dict[str, str]) -> dict[str, Path]:
    """Each read, drift, cycle, export and report command, in human and JSON form; the files written."""
    clone, snap, ctr = ids["full_clone"], ids["snapshot"], ids["containerized"]
    for args in (("ls",), ("ls", "--json"), ("ls", "--all", "--json")):
        run.cli(*args)
    for env_id in ids.values():
        run.cli("show", env_id)
        run.cli("show", env_id, "--json")
    # Drift exits 1 when over its threshold (the SSM keys are production-only): both are answers.
    for args in (
        (clone,),
        (snap, "--format", "json"),
        (ctr, "--format", "junit"),
        (ctr, "--against", clone),
        ("--all",),
    ):
        run.cli("drift", *args, expect=None)
    run.cli("drift", "approve", ctr, "env.SESSION_SECRET", "--reason", "own secret", "--by", "qa")
    run.cli("drift", "approvals", "--json")
    run.cli("snapshot", "ls")
    run.cli("snapshot", "ls", "--json")
    # Production changed since the golden snapshot (which is older than refresh_after): the refresh
    # masks and applies only the changed rows, another path for production values to take.
    refreshed = run.cli("refresh", "--json").json()
    assert refreshed["refreshed"] and refreshed["snapshot"]["method"] == "incremental", refreshed
    run.cli("snapshot", "refresh", "--force", "--json")
    note = tmp_path / "note.md"
    note.write_text("# What worked\n\nsnapshots were fast\n", encoding="utf-8")
    run.cli("note", "add", "--title", "retro", "--file", str(note), "--json")
    run.cli("note", "list", "--json")
    run.cli("bench")
    run.cli("bench", "--json")
    run.cli("bench", "baseline", "ready-fast", "--save", "--json")
    run.cli("experiment", "start", "faster", "--hypothesis", "h", "--expect", "-50%", "--json")
    run.cli("experiment", "list", "--json")
    run.cli("experiment", "show", "faster")
    run.cli("experiment", "stop", "faster", "--json")
    run.cli("tests", "record", ctr, str(JUNIT), "--json")
    run.cli("tests", "list")
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("date,kind,strategy,reference\n2024-05-02,escaped_defect,containerized,BUG-1\n")
    run.cli("outcomes", "import", str(outcomes), "--json")
    for args in (("compare",), ("compare", "--json"), ("budget", "--json"), ("metrics",)):
        run.cli(*args)
    run.cli("export", "--format", "json")
    run.cli("export", "--format", "csv")
    run.cli("report")
    run.cli("config", "check", "--json")
    run.cli("gc", "--dry-run", "--json")
    run.cli("render", "--target", "kubernetes", snap)
    files = {
        "export.json": tmp_path / "export.json",
        "export.csv": tmp_path / "export.csv",
        "report.md": tmp_path / "report.md",
        "manifests.yaml": tmp_path / "manifests.yaml",
    }
    run.cli("export", "--format", "json", "-o", str(files["export.json"]))
    run.cli("export", "--format", "csv", "-o", str(files["export.csv"]))
    run.cli("report", "-o", str(files["report.md"]))
    run.cli("render", "--target", "kubernetes", snap, "-o", str(files["manifests.yaml"]))
    for args in (("audit",), ("audit", "--json"), ("audit", "--data", "--json")):
        run.cli(*args)
    return files


def test_nothing_leaks_from_environments_logs_exports_or_the_store(
    leak_config: Path, state_dir: Path, tmp_path: Path
) -> None:
    run = Run(leak_config)
    for strategy in ("full_clone", "snapshot"):
        run.subprocess("up", f"feat/leak-{strategy}", "--strategy", strategy, "--json")
    run.subprocess("up", "feat/leak-containerized", "--strategy", "containerized")  # human progress lines
    # Production's rows are in the workspace, unmasked, when these runs fail: the rollback must remove
    # them, and after a kill -9 (nothing rolls back) gc must.
    run.subprocess("up", "feat/leak-rollback", "-s", "full_clone", failpoints="anonymize")
    run.subprocess("up", "feat/leak-crash", "-s", "containerized", failpoints="anonymize:crash")
    run.cli("gc", "--json")
    ids = {e["strategy"]: e["id"] for e in run.cli("ls", "--json").json()}
    endpoints = _endpoints(run)
    for env_id, endpoint in endpoints.items():
        for path in ("/health", "/stats", "/customers?limit=100", "/config"):
            run.fetch(env_id, endpoint, path)
    processes = _process_environments(state_dir, sorted(endpoints))
    production = state_dir / "sample" / "production.db"
    before = pii_needles(production, mask_rules(load_config(leak_config)))
    _change_production(production)
    files = _exercise_every_command(run, tmp_path, ids)
    rendered = [state_dir / "environments" / env_id / "config" / "config.json" for env_id in endpoints]
    needles = _needles(leak_config, state_dir, rendered)
    needles += [n for n in before if n.value not in {m.value for m in needles}]  # values changed since

    scanner, findings = _scan_everything(run, state_dir, needles, files, processes)
    _assert_no_leaks(findings)
    # The scan saw what it is meant to see (a scan of nothing would pass too).
    places = set(scanner.places)
    assert len(endpoints) == 3
    for env_id in endpoints:
        assert {f"environments/{env_id}/data/app.db", f"environments/{env_id}/logs/service.log"} <= places
    assert any(p.startswith("store/history/audit-") for p in places)
    assert any(p.startswith("snapshots/") and p.endswith("golden.db") for p in places)
    assert sum(n.category == PII for n in needles) > 1000
    assert {n.origin for n in needles if n.category == PII} >= set(PII_COLUMNS)
    assert {c[1] for c in CHANGED_CUSTOMERS.values()} <= {n.value for n in needles}
    assert sum(n.category == SECRET for n in needles) == 7
    assert sum(n.category == OWN_SECRET for n in needles) >= 2 * len(endpoints)
    # The same scan fails on a leak: a production email written to a service log is reported there.
    log = Path("environments") / ids["containerized"] / "logs" / "service.log"
    email = next(n.value for n in needles if n.origin == "customers.email")
    with (state_dir / log).open("a", encoding="utf-8") as out:
        out.write(f"lookup {email.upper()}\n")
    _, planted = _scan_everything(run, state_dir, needles, files, processes)
    assert [(f.where, f.needle.value) for f in planted] == [(log.as_posix(), email)]

    # After teardown: what the store keeps of environments that are gone.
    for env_id in endpoints:
        run.cli("down", env_id, "--json")
    run.cli("show", ids["snapshot"], "--json")
    run.cli("ls", "--all", "--json")
    run.cli("audit", "--json")
    run.cli("gc", "--json")
    _, findings = _scan_everything(run, state_dir, needles, files, {})
    _assert_no_leaks(findings)


# --- the scanner itself: it must be able to fail ------------------------------------------------------


def test_the_scanner_reports_planted_leaks_and_only_outside_allowed_places(tmp_path: Path) -> None:
    production = tmp_path / "production.db"
    with closing(sqlite3.connect(production)) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'Zoë Müller', 'zoe.muller+1@mail.test')")
        conn.execute("INSERT INTO customers VALUES (2, 'James Smith', 'james.smith.0a1b2c3d@example.com')")
        conn.commit()
    rules = [
        ColumnRule("customers", "full_name", MaskKind.FAKE_NAME),
        ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
    ]
    needles = [*pii_needles(production, rules), secret_needle(MASK_KEY, "mask key")]
    # A name the masker can write, and an email of the masker's own form, prove nothing when found.
    assert sorted(n.value for n in needles) == sorted(["Zoë Müller", "zoe.muller+1@mail.test", MASK_KEY])

    root = tmp_path / "state"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "service.log").write_text("GET /customers 200 ZOE.MULLER+1@MAIL.TEST\n")
    (root / "export.json").write_text(json.dumps({"name": "Zoë Müller"}))  # \u00eb, not UTF-8 bytes
    (root / "access.log").write_text("GET /?q=zoe.muller%2B1%40mail.test\n")
    (root / "quiet.log").write_text("James Smith, james.smith.0a1b2c3d@example.com\n")
    (root / "mask.key").write_text(MASK_KEY)
    # A row deleted without secure_delete (a build default: Debian's is on, others' off) stays in the
    # file's free space, invisible to SQL: the bytes are what counts.
    with closing(sqlite3.connect(root / "env.db")) as conn:
        conn.execute("PRAGMA secure_delete=OFF")
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("Zoë Müller",), ("James Smith",)])
        conn.commit()
        conn.execute("DELETE FROM t WHERE v = 'Zoë Müller'")
        conn.commit()
        assert conn.execute("SELECT count(*) FROM t WHERE v = 'Zoë Müller'").fetchone() == (0,)
    scanner = Scanner(needles, [Allowance("mask.key", frozenset({SECRET}), "the key's own file")])
    found = {(f.where, f.needle.value) for f in scanner.scan_tree(root)}
    assert found == {
        ("logs/service.log", "zoe.muller+1@mail.test"),
        ("export.json", "Zoë Müller"),
        ("access.log", "zoe.muller+1@mail.test"),
        ("env.db", "Zoë Müller"),
    }
    assert scanner.scan_text("cli up", f"key {MASK_KEY}")[0].needle.category == SECRET


def test_nested_overlapping_and_cut_short_values_are_each_found() -> None:
    values = ("abcdefgh-123", "abcdefgh-123456", "123456-zyxwvu", "sk_live_FAKE_not_a_real_key_0000")
    scanner = Scanner([secret_needle(value, "test") for value in values])
    found = scanner.scan_text("out", "..abcdefgh-123456-zyxwvu.. | sk_live_FAKE_not_a_r… |")
    assert sorted(f.needle.value for f in found) == sorted(values)
    encoded = base64.b64encode(values[3].encode()).decode()  # a Kubernetes Secret's data
    assert [f.needle.value for f in scanner.scan_text("manifest", f"PAYMENT_API_KEY: {encoded}")] == [
        values[3]
    ]


def test_only_values_the_masker_cannot_write_are_needles() -> None:
    assert not distinguishing("Mary Johnson", MaskKind.FAKE_NAME)  # both words in the masker's lists
    assert not distinguishing("Mary Johns", MaskKind.FAKE_NAME)  # inside "Mary Johnson"
    assert distinguishing("Léa Dubois", MaskKind.FAKE_NAME)
    assert not distinguishing("12 Maple Street", MaskKind.FAKE_ADDRESS)
    assert distinguishing("12 Rue de la Paix", MaskKind.FAKE_ADDRESS)
    assert not distinguishing("1984-03-12", MaskKind.DATE_SHIFT)
    assert not distinguishing("4242", MaskKind.NULL)
    assert distinguishing("+44 20 7946 0123", MaskKind.FAKE_PHONE)
    assert not distinguishing("CONSTANT-VALUE", MaskKind.CONSTANT, "CONSTANT-VALUE")


# --- PostgreSQL: production on a server, golden copies and environments as databases on it ------------

PG_PASSWORD = "leakscan-pg-password-3e9a1f"
"""Production's password, through ${VAR} as the docs advise (the test server trusts any password)."""


def _assert_no_leaks(findings: list[Finding]) -> None:
    assert findings == [], "\n".join(map(str, findings))


def _database_files(admin_dsn: str, names: list[str]) -> dict[str, Path]:
    """Each database's directory on the server (its tables, indexes, TOAST, catalogs and statistics),
    once the server has written every dirty page out."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        (data,) = conn.execute("SHOW data_directory").fetchone() or ("",)
        rows = conn.execute("SELECT datname, oid FROM pg_database WHERE datname = ANY(%s)", (names,))
        return {name: Path(data) / "base" / str(oid) for name, oid in rows}


def _scan_database(scanner: Scanner, admin_dsn: str, name: str, directory: Path) -> list[Finding]:
    """Findings in a database's files, each file named by its relation (a catalog's file number differs
    between databases once VACUUM FULL has rewritten it)."""
    findings = scanner.scan_tree(directory, f"database {name}")
    if not findings:
        return findings
    with _connectable(admin_dsn, name), psycopg.connect(make_conninfo(admin_dsn, dbname=name)) as conn:
        query = "SELECT pg_relation_filenode(oid)::text, relname FROM pg_class WHERE relkind <> 'v'"
        relations = {node: relname for node, relname in conn.execute(query).fetchall() if node}
    prefix = f"database {name}/"

    def named(finding: Finding) -> Finding:
        file = finding.where.removeprefix(prefix)  # 16384, or its fork 16384_fsm, or segment 16384.1
        node = re.split(r"[_.]", file, maxsplit=1)[0]
        return dataclasses.replace(finding, where=prefix + relations.get(node, file))

    return [named(f) for f in findings]


@contextlib.contextmanager
def _connectable(admin_dsn: str, name: str) -> Iterator[None]:
    """A golden copy refuses connections (ALLOW_CONNECTIONS false): allowed for the time of a look at its
    catalog, then sealed again as it was."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        row = admin.execute("SELECT datallowconn FROM pg_database WHERE datname = %s", (name,)).fetchone()
        sealed = row is not None and not row[0]

        def allow(value: str) -> None:
            statement = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}")
            admin.execute(statement.format(sql.Identifier(name), sql.SQL(value)))

        if sealed:
            allow("true")
        try:
            yield
        finally:
            if sealed:
                allow("false")


def test_nothing_leaks_on_postgres_into_databases_workspaces_or_output(
    tmp_path: Path,
    state_dir: Path,
    pg_production: DataLocation,
    postgres_server: str,
    sample_sqlite: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert pg_production.dsn is not None and pg_production.database is not None
    monkeypatch.setenv("STAGETUI_MASK_KEY", MASK_KEY)
    monkeypatch.setenv("LEAKSCAN_PG_PASSWORD", PG_PASSWORD)
    monkeypatch.setenv("COLUMNS", "400")
    dsn = make_conninfo(pg_production.dsn, dbname=pg_production.database, password="${LEAKSCAN_PG_PASSWORD}")
    config = tmp_path / "stagetui.yaml"
    config.write_text(SMALL_CONFIG.format(customers=100) + f"production:\n  postgres: {json.dumps(dsn)}\n")
    run = Run(config)
    ids = {}
    try:
        # The snapshot strategy makes its environments as full_clone does here: template clones of a golden.
        for strategy in ("full_clone", "containerized"):
            ids[strategy] = run.subprocess("up", f"pg-leak-{strategy}", "-s", strategy, "--json").json()["id"]
        _visit_environments(run)
        processes = _process_environments(state_dir, sorted(ids.values()))
        for args in (("snapshot", "ls", "--json"), ("refresh", "--json"), ("audit", "--json"), ("report",)):
            run.cli(*args)
        run.cli("config", "check", "--json")
        run.cli("export", "--format", "json")

        needles = pii_needles(sample_sqlite, mask_rules(load_config(config)))
        needles += [secret_needle(PG_PASSWORD, "production.postgres password")]
        needles += [secret_needle(MASK_KEY, "$STAGETUI_MASK_KEY")]
        scanner, findings = _scan_everything(run, state_dir, needles, {}, processes)
        # Every database stagetui made (the production database is the fixture's, also named stagetui_).
        made = PostgresEngine().list_databases(postgres_server, "stagetui_")
        databases = _database_files(postgres_server, [n for n in made if n != pg_production.database])
        assert any("_env_" in name for name in databases) and any("_golden_" in name for name in databases)
        for name, directory in databases.items():
            findings += _scan_database(scanner, postgres_server, name, directory)
    finally:
        for env_id in ids.values():
            run.cli("down", env_id, expect=None)
        run.cli("gc", expect=None)
    _assert_no_leaks(findings)


# --- the docker runtime: containers, their volumes, their logs and their settings -------------------------

DOCKER_ALLOWANCES = (
    Allowance("docker/*/config/*", frozenset({OWN_SECRET}), "an environment's rendered config"),
    Allowance("volume *-config/*", frozenset({OWN_SECRET}), "the same config, in its volume"),
    Allowance("container * settings", frozenset({OWN_SECRET}), "services run with their own secrets"),
)


def test_nothing_leaks_into_containers_their_volumes_or_logs(
    tmp_path: Path,
    state_dir: Path,
    docker_client: docker.DockerClient,
    sample_images: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STAGETUI_MASK_KEY", MASK_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("COLUMNS", "400")
    config = tmp_path / "stagetui.yaml"
    config.write_text(SMALL_CONFIG.format(customers=300).replace("runtimes:\n", "runtimes:\n  docker: {}\n"))
    run = Run(config)
    ids = []
    try:
        # Snapshot: its data travels through a seed volume shared by the golden copy's environments.
        up = run.subprocess("up", "dock-leak", "-s", "snapshot", "--runtime", "docker", "--json")
        ids.append(up.json()["id"])
        _visit_environments(run)
        rendered = [state_dir / "docker" / env_id / "config" / "config.json" for env_id in ids]
        needles = _needles(config, state_dir, rendered)
        scanner = Scanner(needles, STATE_ALLOWANCES + OUTPUT_ALLOWANCES + DOCKER_ALLOWANCES)
        findings = scanner.scan_tree(state_dir)
        findings += [f for label, text in run.outputs.items() for f in scanner.scan_text(label, text)]
        # Only this environment's: others may share the engine.
        filters = {"label": f"stagetui.env={ids[0]}"}
        containers = docker_client.containers.list(all=True, filters=filters)
        assert len(containers) == 3
        volumes = {v.name for v in docker_client.volumes.list(filters=filters)}
        for container in containers:
            findings += scanner.scan_bytes(f"container {container.name} log", container.logs())
            settings = json.dumps(container.attrs, ensure_ascii=False).encode()
            findings += scanner.scan_bytes(f"container {container.name} settings", settings)
            volumes |= {m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"}
        assert any(name.startswith("stagetui-seed-") for name in volumes)  # the shared one is there too
        for name in sorted(volumes):
            mountpoint = Path(docker_client.volumes.get(name).attrs["Mountpoint"])
            assert mountpoint.is_dir(), f"{name}: the engine's volumes must be on this machine"
            findings += scanner.scan_tree(mountpoint, f"volume {name}")
        assert any(place.startswith("volume ") and place.endswith("app.db") for place in scanner.places)
    finally:
        for env_id in ids:
            run.cli("down", env_id, expect=None)
        run.cli("gc", expect=None)  # the seed volume too: later tests' gc must find nothing of this one
    _assert_no_leaks(findings)
