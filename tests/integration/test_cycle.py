"""The improvement cycle end to end through the real CLI: benchmarks and baselines, experiments, notes,
strategy comparison with test results and production outcomes, budgets, and the exports (Prometheus metrics,
JSON/CSV samples, the Markdown report), on environments really provisioned on the local runtime.

Setup that is not under test (provisioning, most experiment starts) goes through the service API in this
process: a CLI round trip costs half a second of imports and would prove nothing more here."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from stagetui.config import load_config
from stagetui.domain.models import Environment
from stagetui.service.api import StagetuiService
from tests.integration.helpers import CliResult, cli

pytestmark = pytest.mark.integration

JUNIT = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "junit"
PRODUCTION_SECRETS = ("sk_live", "fake-production-session-secret")
"""Values in the sample production's .env: no output of the cycle may carry them."""
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

MakeConfig = Callable[..., Path]


@pytest.fixture
def make_config(small_config: Path) -> Iterator[MakeConfig]:
    """small_config plus extra top-level sections, in a copy; every environment is torn down afterwards."""

    def make(extra: str, name: str = "cycle.yaml") -> Path:
        path = small_config.with_name(name)
        path.write_text(small_config.read_text() + textwrap.dedent(extra))
        return path

    yield make
    service = StagetuiService.open(load_config(small_config))
    for view in service.environments():
        asyncio.run(service.down(view.environment.id))
    assert service.environments() == []


def open_service(config: Path) -> StagetuiService:
    return StagetuiService.open(load_config(config))


def provision(service: StagetuiService, branch: str, strategy: str = "containerized") -> Environment:
    result = asyncio.run(service.up(service.up_request(branch, strategy=strategy)))
    assert result.ok, result.outcome
    assert result.environment.provision_seconds is not None
    return result.environment


def seconds_of(*envs: Environment) -> list[float]:
    return [env.provision_seconds or 0.0 for env in envs]


def ok_json(config: Path, *args: str) -> Any:
    result = cli(config, *args, "--json")
    assert result.code == 0, (args, result.stdout, result.stderr)
    return result.json()


def by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def exported(config: Path) -> list[dict[str, Any]]:
    result = cli(config, "export", "--format", "json")
    assert result.code == 0, result.stderr
    rows: list[dict[str, Any]] = result.json()
    return rows


def cli_with_input(config: Path, text: str, *args: str) -> CliResult:
    """Like `cli`, with `text` on standard input (the helper gives /dev/null)."""
    result = subprocess.run(
        [sys.executable, "-m", "stagetui", "--config", str(config), *args],
        input=text,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=dict(os.environ),
        timeout=60,
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


def words(text: str) -> str:
    """Text with Rich's line wrapping undone, to look for phrases in human output."""
    return " ".join(text.split())


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


BENCHMARKS = """\
benchmarks:
  - name: ready-in-5-minutes
    metric: provision.total_seconds
    aggregation: share_under
    limit: 300
    target: 0.9
    direction: higher
  - name: impossible
    description: no environment is ready in a microsecond
    metric: provision.total_seconds
    aggregation: median
    target: 0.000001
  - name: snapshot-data-age
    metric: data.age_seconds
    aggregation: p90
    target: 86400
    scope: {strategy: snapshot}
"""


def test_bench_reports_real_samples_fails_on_miss_and_records_a_baseline(make_config: MakeConfig) -> None:
    config = make_config(BENCHMARKS)
    empty = by_name(ok_json(config, "bench"))
    assert set(empty) == {"ready-in-5-minutes", "impossible", "snapshot-data-age"}
    assert all(b["value"] is None and b["samples"] == 0 and b["met"] is None for b in empty.values())
    assert cli(config, "bench", "--fail-on-miss").code == 0  # no data is not a miss

    service = open_service(config)
    seconds = seconds_of(provision(service, "feat/bench-a"), provision(service, "feat/bench-b"))
    bench = by_name(ok_json(config, "bench"))
    ready, impossible, age = bench["ready-in-5-minutes"], bench["impossible"], bench["snapshot-data-age"]
    assert (ready["value"], ready["target"], ready["met"], ready["samples"]) == (1.0, 0.9, True, 2)
    assert ready["limit"] == 300 and ready["aggregation"] == "share_under"
    assert impossible["value"] == pytest.approx(np.median(seconds))
    assert (impossible["target"], impossible["met"], impossible["samples"]) == (0.000001, False, 2)
    assert impossible["baseline"] is None and impossible["vs_baseline"] is None
    assert (age["value"], age["met"], age["samples"]) == (None, None, 0)  # scoped to snapshot: none yet
    assert age["scope"]["strategy"] == "snapshot"

    human = cli(config, "bench")
    assert human.code == 0  # a miss fails the command only with --fail-on-miss
    assert "impossible" in human.stdout and "missed" in human.stdout
    missed = cli(config, "bench", "--fail-on-miss", "--json")
    assert missed.code == 7 and by_name(missed.json())["impossible"]["met"] is False

    assessed = ok_json(config, "bench", "baseline", "impossible")
    assert assessed["n"] == 2 and assessed["value"] == pytest.approx(np.median(seconds))
    assert assessed["saved"] is False
    assert any("2 samples; at least 20 are needed" in w for w in assessed["warnings"]), assessed["warnings"]
    nothing = cli(config, "bench", "baseline", "snapshot-data-age", "--save", "--json")
    assert nothing.code == 2 and "nothing to record" in nothing.json()["error"]
    unsaved = by_name(ok_json(config, "bench"))
    assert unsaved["impossible"]["baseline"] is None  # assessing alone records nothing
    assert unsaved["snapshot-data-age"]["baseline"] is None

    saved = ok_json(config, "bench", "baseline", "impossible", "--save")
    assert saved["saved"] is True and saved["value"] == pytest.approx(assessed["value"])
    after = by_name(ok_json(config, "bench"))["impossible"]
    assert after["baseline"] == pytest.approx(assessed["value"]) and after["vs_baseline"] == pytest.approx(0)
    unknown = cli(config, "bench", "baseline", "no-such-benchmark", "--json")
    assert unknown.code == 3 and "impossible" in unknown.json()["error"]  # names the known ones


def test_config_check_names_the_file_and_line_of_a_bad_benchmark(make_config: MakeConfig) -> None:
    config = make_config(
        """\
        benchmarks:
          - name: fine
            metric: provision.total_seconds
            target: 60
          - name: no-limit
            metric: provision.total_seconds
            aggregation: share_under
            target: 0.9
            direction: higher
          - name: unknown-metric
            metric: provision.total_secs
            target: 1
        """,
        name="bad.yaml",
    )
    text = config.read_text()
    checked = cli(config, "config", "check", str(config), "--json")
    assert checked.code == 2
    report = checked.json()
    assert report["ok"] is False and len(report["problems"]) == 2, report
    no_limit, unknown = report["problems"]
    assert no_limit.startswith(f"{config}:{line_of(text, '- name: no-limit')}: ")
    assert "share_under needs a limit" in no_limit
    assert unknown.startswith(f"{config}:{line_of(text, 'metric: provision.total_secs')}: ")
    assert "benchmarks.2.metric" in unknown and "provision.total_secs" in unknown

    human = cli(config, "config", "check", str(config))
    assert human.code == 2 and human.stdout == ""
    assert f"{config}:{line_of(text, '- name: no-limit')}" in human.stderr
    bench = cli(config, "bench", "--json")  # any command refuses the file, with the same problems
    assert bench.code == 2 and "share_under needs a limit" in bench.json()["error"]


def test_experiment_tags_samples_in_its_scope_until_stopped(make_config: MakeConfig) -> None:
    config = make_config(
        """\
        benchmarks:
          - name: provision-time
            metric: provision.total_seconds
            target: 600
          - name: containerized-time
            metric: provision.total_seconds
            target: 600
            scope: {strategy: containerized}
        """
    )
    service = open_service(config)
    before = [provision(service, "exp/before-1"), provision(service, "exp/before-2")]

    refused = cli(config, "experiment", "start", "faster-subset", "--hypothesis", "h", "--expect=lots")
    assert refused.code == 2 and "--expect: 'lots' is not a change like -50%" in refused.stderr, refused
    assert ok_json(config, "experiment", "list") == []  # nothing was stored

    started = ok_json(
        config,
        "experiment",
        "start",
        "faster-subset",
        "--hypothesis",
        "a smaller subset halves provisioning time",
        "--expect=-50%",
        "--strategy",
        "containerized",
    )
    assert started["id"] == "faster-subset" and started["status"] == "running"
    assert started["expected_change"] == pytest.approx(-0.5)
    assert started["scope"]["strategy"] == "containerized" and started["ended_at"] is None

    during = [provision(service, "exp/during-1"), provision(service, "exp/during-2")]
    snapshot = provision(service, "exp/during-snap", "snapshot")

    tags: dict[str, set[str | None]] = {}
    for row in exported(config):
        tags.setdefault(row["environment_id"], set()).add(row["experiment"])
    assert {env.id: tags[env.id] for env in during} == {env.id: {"faster-subset"} for env in during}
    assert {env.id: tags[env.id] for env in [*before, snapshot]} == {
        env.id: {None} for env in [*before, snapshot]
    }

    bench = by_name(ok_json(config, "bench"))
    assert bench["provision-time"]["samples"] == 3  # the two tagged environments are left out
    assert bench["provision-time"]["value"] == pytest.approx(np.median(seconds_of(*before, snapshot)))
    assert bench["containerized-time"]["samples"] == 2
    compared = by_name(ok_json(config, "compare"), "strategy")
    assert compared["containerized"]["environments"] == 2 and compared["snapshot"]["environments"] == 1

    shown = ok_json(config, "experiment", "show", "faster-subset")
    assert (shown["n_baseline"], shown["n_experiment"]) == (2, 2)
    assert shown["baseline_median"] == pytest.approx(np.median(seconds_of(*before)))
    assert shown["experiment_median"] == pytest.approx(np.median(seconds_of(*during)))
    assert shown["verdict"] == "inconclusive" and shown["met_expectation"] is None
    assert shown["p_value"] is None and shown["ci_low"] is None
    assert "only 2 samples in the baseline and only 2 samples in the experiment" in shown["summary"]
    assert "at least 5 per group are needed to conclude" in shown["summary"]
    human = cli(config, "experiment", "show", "faster-subset")
    assert human.code == 0
    assert "inconclusive: only 2 samples in the baseline" in words(human.stdout)
    assert "baseline samples: 2 · experiment samples: 2" in words(human.stdout)

    stopped = ok_json(config, "experiment", "stop", "faster-subset")
    assert stopped["experiment"]["status"] == "finished" and stopped["experiment"]["ended_at"]
    assert stopped["verdict"] == "inconclusive"
    after = provision(service, "exp/after")
    assert {r["experiment"] for r in exported(config) if r["environment_id"] == after.id} == {None}

    again = cli(config, "experiment", "start", "faster-subset", "--hypothesis", "h", "--expect=-1%", "--json")
    assert again.code == 4 and "exists already" in again.json()["error"]
    assert [e["status"] for e in ok_json(config, "experiment", "list")] == ["finished"]


def test_expect_accepts_a_negative_change_as_its_own_argument(small_config: Path) -> None:
    result = cli(
        small_config, "experiment", "start", "cut", "--hypothesis", "h", "--expect", "-50%", "--json"
    )
    assert result.code == 0, result.stderr
    assert result.json()["expected_change"] == pytest.approx(-0.5)


def test_test_results_follow_the_experiment_of_their_environment(make_config: MakeConfig) -> None:
    config = make_config("")
    service = open_service(config)
    before = provision(service, "tag/before")
    service.start_experiment(
        "exp", hypothesis="h", change="", metric="provision.total_seconds", expected_change=-0.5
    )
    during = provision(service, "tag/during")
    assert ok_json(config, "tests", "record", before.id, str(JUNIT / "pytest.xml"))["pass_rate"] == 0.5
    service.stop_experiment("exp")
    assert ok_json(config, "tests", "record", during.id, str(JUNIT / "pytest.xml"))["pass_rate"] == 0.5
    rates = [r for r in exported(config) if r["metric"] == "tests.pass_rate"]
    assert {r["environment_id"]: r["experiment"] for r in rates} == {before.id: None, during.id: "exp"}


NOTE_BODY = (
    "## What worked\n\n"
    "Ümlaut, 日本語 and ✓ survive; [red]not markup[/red] and [bold]x[/] neither.\n\n"
    "## Action items\n"
    "- [ ] shrink the subset again\n"
    "- [x] measure it\n"
    "  * [X] nested and done\n"
    "trailing spaces stay   "
)


def test_notes_round_trip_markdown_and_link_to_experiments(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("")
    open_service(config).start_experiment(
        "faster-subset", hypothesis="h", change="", metric="provision.total_seconds", expected_change=-0.5
    )
    body_file = tmp_path / "body.md"
    body_file.write_text(NOTE_BODY, encoding="utf-8")
    title = "Retro [red]subset[/red] ✓"

    from_file = ("--file", str(body_file))
    refused = cli(config, "note", "add", "--title", "t", "--experiment", "nope", *from_file, "--json")
    assert refused.code == 2 and "nope" in refused.json()["error"]
    missing = cli(config, "note", "add", "--title", "t", "--file", str(tmp_path / "missing.md"), "--json")
    assert missing.code == 2 and "--file" in missing.json()["error"]
    assert ok_json(config, "note", "list") == []  # nothing stored

    added = ok_json(config, "note", "add", "--title", title, "--experiment", "faster-subset", *from_file)
    assert added["title"] == title and added["body"] == NOTE_BODY
    assert added["experiment"] == "faster-subset" and added["benchmark"] is None
    assert added["action_items"] == [
        {"done": False, "text": "shrink the subset again"},
        {"done": True, "text": "measure it"},
        {"done": True, "text": "nested and done"},
    ]
    assert ok_json(config, "note", "list") == [added]
    assert ok_json(config, "note", "show", added["id"][:5]) == added  # a unique prefix is enough

    shown = cli(config, "note", "show", added["id"])
    assert shown.code == 0
    assert "[red]not markup[/red] and [bold]x[/] neither." in words(shown.stdout)
    assert "Retro [red]subset[/red] ✓" in words(shown.stdout)
    assert "experiment faster-subset" in words(shown.stdout)
    listing = cli(config, "note", "list")
    assert listing.code == 0 and "[red]" in listing.stdout  # a table cell may fold the rest of the title

    piped_body = "Piped in: ünïcode — [green]stays[/green]\n- [ ] follow up\n"
    piped = cli_with_input(config, piped_body, "note", "add", "--title", "from stdin", "--json")
    assert piped.code == 0, piped.stderr
    assert piped.json()["body"] == piped_body
    assert piped.json()["action_items"] == [{"done": False, "text": "follow up"}]
    dashed = cli_with_input(config, "dash\n", "note", "add", "--title", "dash", "--file", "-", "--json")
    assert dashed.code == 0 and dashed.json()["body"] == "dash\n"
    notes = by_name(ok_json(config, "note", "list"), "title")
    assert set(notes) == {title, "from stdin", "dash"}
    assert notes["from stdin"]["body"] == piped_body and notes[title]["body"] == NOTE_BODY


def test_compare_with_test_results_and_production_outcomes(make_config: MakeConfig, tmp_path: Path) -> None:
    config = make_config("")
    service = open_service(config)
    containerized = [provision(service, "cmp/one"), provision(service, "cmp/two")]
    snapshot = provision(service, "cmp/snap", "snapshot")

    rows = by_name(ok_json(config, "compare"), "strategy")
    assert list(rows) == ["full_clone", "snapshot", "containerized"]
    assert rows["full_clone"]["environments"] == 0 and rows["full_clone"]["provision_p50_seconds"] is None
    seconds = seconds_of(*containerized)
    ctr, snap = rows["containerized"], rows["snapshot"]
    assert ctr["environments"] == 2 and snap["environments"] == 1
    assert ctr["provision_p50_seconds"] == pytest.approx(np.percentile(seconds, 50))
    assert ctr["provision_p90_seconds"] == pytest.approx(np.percentile(seconds, 90))
    assert snap["provision_p50_seconds"] == pytest.approx(snapshot.provision_seconds)
    # Prices from the default price list (per hour: containerized 0.04, snapshot 0.25), storage is tiny.
    assert ctr["cost_per_day_median"] == pytest.approx(0.96, rel=1e-3)
    assert snap["cost_per_day_median"] == pytest.approx(6.0, rel=1e-3)
    assert all(r["test_pass_rate"] is None for r in rows.values())
    assert all(r["escaped_defects_per_100_envs"] is None for r in rows.values())  # no outcomes yet

    recorded = ok_json(config, "tests", "record", containerized[0].id, str(JUNIT / "pytest.xml"))
    assert (recorded["tests"], recorded["passed"], recorded["skipped"]) == (5, 2, 1)
    assert recorded["pass_rate"] == pytest.approx(0.5)
    assert "tests.test_orders.test_refund" in recorded["failed_cases"]
    rows = by_name(ok_json(config, "compare"), "strategy")
    assert rows["containerized"]["test_pass_rate"] == pytest.approx(0.5)
    assert rows["snapshot"]["test_pass_rate"] is None

    for name in ("truncated.xml", "not_junit.xml"):
        bad = cli(config, "tests", "record", snapshot.id, str(JUNIT / name), "--json")
        assert bad.code == 2 and str(JUNIT / name) in bad.json()["error"], (name, bad.stdout)
    assert len(ok_json(config, "tests", "list")) == 1

    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(
        "date,kind,strategy,reference\n"
        "2024-05-02,escaped_defect,containerized,BUG-1\n"
        "2024-05-03,escaped_defect,containerized,BUG-2\n"
        "2024-05-04,incident,snapshot,INC-7\n"
    )
    assert ok_json(config, "outcomes", "import", str(outcomes)) == {"imported": 3, "rows": 3}
    assert ok_json(config, "outcomes", "import", str(outcomes)) == {"imported": 0, "rows": 3}
    rows = by_name(ok_json(config, "compare"), "strategy")
    assert rows["containerized"]["escaped_defects_per_100_envs"] == pytest.approx(100.0)  # 2 of 2 envs
    assert rows["snapshot"]["escaped_defects_per_100_envs"] == pytest.approx(0.0)
    assert rows["snapshot"]["incidents_per_100_envs"] == pytest.approx(100.0)
    assert rows["full_clone"]["escaped_defects_per_100_envs"] is None  # no environments to divide by

    malformed = tmp_path / "malformed.csv"
    malformed.write_text(
        "date,kind,strategy\n2024-06-01,escaped_defect,snapshot\nyesterday,defect,snapshot\n"
    )
    bad = cli(config, "outcomes", "import", str(malformed), "--json")
    assert bad.code == 2 and f"{malformed}:3: date" in bad.json()["error"]
    headless = tmp_path / "headless.csv"
    headless.write_text("when,what\n2024-06-01,escaped_defect\n")
    bad = cli(config, "outcomes", "import", str(headless))
    assert bad.code == 2 and str(headless) in words(bad.stderr)
    unchanged = by_name(ok_json(config, "compare"), "strategy")["snapshot"]
    assert unchanged["escaped_defects_per_100_envs"] == pytest.approx(0.0)  # not even the good row
    assert unchanged["test_pass_rate"] is None  # nor the bad JUnit files


def test_budget_over_exits_6_and_ok_exits_0(make_config: MakeConfig) -> None:
    unset = cli(make_config("", name="plain.yaml"), "budget", "--json")
    assert unset.code == 0 and unset.json() == []
    tiny = make_config("cost:\n  budgets:\n    daily: 0.000001\n", name="tiny.yaml")
    big = make_config("cost:\n  budgets:\n    daily: 1000\n    monthly: 10000\n", name="big.yaml")
    provision(open_service(tiny), "budget/one")

    over = cli(tiny, "budget", "--json")
    assert over.code == 6, over.stderr
    [day] = over.json()
    assert day["period"] == "day" and day["state"] == "over"
    # `spent` is rounded to 4 decimals in JSON (0.0 here), so the share tells that it is over.
    assert day["limit"] == 0.000001 and day["share"] > 1
    human = cli(tiny, "budget")
    assert human.code == 6 and "over" in human.stdout and "this day" in human.stdout

    fine = cli(big, "budget", "--json")
    assert fine.code == 0, fine.stderr
    assert [(b["period"], b["state"]) for b in fine.json()] == [("day", "ok"), ("month", "ok")]
    assert all(0 <= b["spent"] < b["limit"] for b in fine.json())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fetch(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


def labelled(family: Any, **labels: str) -> list[float]:
    return [s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


def check_metrics(text: str, env: dict[str, Any]) -> None:
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["stagetui_environments"].type == "gauge"
    assert labelled(families["stagetui_environments"], status="ready", strategy="containerized") == [1.0]
    ours = {"environment": env["id"], "strategy": "containerized", "runtime": "local"}
    [age] = labelled(families["stagetui_environment_data_age_seconds"], **ours)
    assert age >= 0
    assert labelled(families["stagetui_environment_drift_unapproved"], **ours) == [env["drift"]["unapproved"]]
    [cost] = labelled(families["stagetui_environment_cost_so_far"], **ours, currency="USD")
    assert cost > 0
    summary = families["stagetui_provision_seconds"]
    assert summary.type == "summary"
    count = [s.value for s in summary.samples if s.name == "stagetui_provision_seconds_count"]
    assert count == [1.0]
    median = labelled(summary, strategy="containerized", quantile="0.5")
    assert median == [pytest.approx(env["provision_seconds"])]
    targets = {s.labels["benchmark"]: s.value for s in families["stagetui_benchmark_target"].samples}
    assert targets == {"ready-in-5-minutes": 0.9, "impossible": 0.000001, "snapshot-data-age": 86400}
    assert labelled(families["stagetui_benchmark_met"], benchmark="impossible") == [0.0]
    assert labelled(families["stagetui_benchmark_value"], benchmark="ready-in-5-minutes") == [1.0]
    assert labelled(families["stagetui_budget_limit"], period="day") == [1000.0]


def test_metrics_exports_and_report(make_config: MakeConfig, state_dir: Path, tmp_path: Path) -> None:
    config = make_config(BENCHMARKS + "cost:\n  budgets:\n    daily: 1000\n")
    branch = 'feat/exports, "quoted" ü'
    provisioned = cli(config, "up", branch, "--strategy", "containerized", "--json")
    assert provisioned.code == 0, provisioned.stderr
    env = provisioned.json()
    service = open_service(config)
    service.start_experiment(
        "faster-subset",
        hypothesis="smaller is faster",
        change="",
        metric="provision.total_seconds",
        expected_change=-0.5,
    )
    body = "## Findings\n\nThe app used postgres://app:hunter2@db:5432/app and password=hunter2 before.\n"
    service.add_note("Exports retro", body, experiment="faster-subset")
    production_env = (state_dir / "sample" / "production_config" / ".env").read_text()
    assert all(secret in production_env for secret in PRODUCTION_SECRETS)  # there is something to leak

    metrics = cli(config, "metrics")
    assert metrics.code == 0, metrics.stderr
    check_metrics(metrics.stdout, env)

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        serve = ("metrics", "--serve", "--port", str(port))
        server = subprocess.Popen(
            [sys.executable, "-m", "stagetui", "--config", str(config), *serve],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                content_type, served = fetch(f"http://127.0.0.1:{port}/metrics")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the metrics server never answered"
                time.sleep(0.05)
        assert content_type == PROMETHEUS_CONTENT_TYPE
        check_metrics(served, env)
        for path in ("/", "/metricsx", "/other/metrics"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                fetch(f"http://127.0.0.1:{port}{path}")
            assert missing.value.code == 404
        assert fetch(f"http://127.0.0.1:{port}/metrics?scrape=1")[0] == PROMETHEUS_CONTENT_TYPE
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    as_json = exported(config)
    # One sample per provisioning step, then total time, data age, the drift check's counts (unapproved,
    # approved, pass, one per severity), orphans and cost per day.
    drift_metrics = {
        "drift.unapproved",
        "drift.approved",
        "drift.pass",
        "drift.critical",
        "drift.major",
        "drift.minor",
        "drift.info",
    }
    others = {"provision.total_seconds", "data.age_seconds", "integrity.orphans", "cost.per_day"}
    assert sorted(row["metric"] for row in as_json if row["metric"] != "provision.step_seconds") == sorted(
        drift_metrics | others
    )
    assert len(as_json) == len(env["steps"]) + len(drift_metrics | others)
    as_csv = cli(config, "export", "--format", "csv")
    assert as_csv.code == 0, as_csv.stderr
    header = as_csv.stdout.splitlines()[0]
    assert header == "at,metric,value,step,strategy,runtime,branch,environment_id,experiment"
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == len(as_json)
    assert all(row["branch"] == branch and row["environment_id"] == env["id"] for row in rows)
    assert [row["metric"] for row in rows] == [row["metric"] for row in as_json]
    [total] = [row for row in rows if row["metric"] == "provision.total_seconds"]
    assert float(total["value"]) == pytest.approx(env["provision_seconds"]) and total["experiment"] == ""
    written = tmp_path / "samples.json"
    assert cli(config, "export", "--since", "1h", "-o", str(written)).code == 0
    assert json.loads(written.read_text()) == as_json
    assert cli(config, "export", "--since", "soon").code == 2

    report_file = tmp_path / "report.md"
    report = cli(config, "report", "-o", str(report_file))
    assert report.code == 0, report.stderr
    markdown = report_file.read_text()
    assert markdown.startswith("# ")
    for section in ("Strategy comparison", "Benchmarks", "Experiments", "Budget", "Retrospective notes"):
        assert f"\n## {section}\n" in markdown, section
    assert "| containerized | 1 |" in markdown
    assert "| impossible |" in markdown and "| missed |" in markdown
    assert "| faster-subset | smaller is faster | running |" in markdown
    assert "- day: " in markdown and "of 1000.00 USD (ok)" in markdown
    assert "### Exports retro" in markdown and "_Linked to experiment faster-subset" in markdown
    assert "##### Findings" in markdown  # the note's own headings sit below the note's
    assert "hunter2" not in markdown and "postgres://app:***@db" in markdown

    for output in (markdown, metrics.stdout, served, as_csv.stdout, json.dumps(as_json)):
        for secret in PRODUCTION_SECRETS:
            assert secret not in output
