from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from stagetui.domain.drift import Approval, DriftReport, Severity, SeverityRule, compute_drift
from stagetui.domain.drift_junit import render_junit
from stagetui.domain.drift_threshold import DriftThreshold, ThresholdResult, evaluate_threshold
from stagetui.domain.junit import parse_junit

TODAY = dt.date(2024, 6, 15)
STAMP = dt.datetime(2024, 6, 15, 9, 30, tzinfo=dt.UTC)

PRODUCTION: dict[str, object] = {
    "app": {"workers": 8, "motd": "plain", "banner": "a"},
    "env": {"SESSION_SECRET": "prod-session-value", "LOG_LEVEL": "info"},
}
ENVIRONMENT: dict[str, object] = {
    "app": {"workers": 2, "motd": 'say "<hi>" & \x1b[1mbye\x00', "banner": "b"},
    "env": {"SESSION_SECRET": "env-session-value", "LOG_LEVEL": "debug"},
}
APPROVAL = Approval("app.banner", "A/B test <v2>", "ana", TODAY, dt.date(2024, 6, 1))


def _digest(value: object) -> str:
    return f"h:{len(str(value)):08x}"


def _report(environment: dict[str, object]) -> DriftReport:
    return compute_drift(
        PRODUCTION,
        environment,
        today=TODAY,
        approvals=[APPROVAL, Approval("old.*", "gone", "bo")],
        severity_rules=[SeverityRule("app.workers", Severity.CRITICAL)],
        secret_digest=_digest,
        compare_secret_values=True,
    )


def _render(*envs: tuple[str, dict[str, object], DriftThreshold]) -> str:
    rows: list[tuple[str, DriftReport, ThresholdResult]] = []
    for env_id, tree, threshold in envs:
        report = _report(tree)
        rows.append((env_id, report, evaluate_threshold(report, threshold)))
    return render_junit(rows, STAMP)


def _cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.iter("testcase")}


def test_each_difference_is_a_case_unapproved_ones_fail() -> None:
    xml = _render(("shop-pr-1", ENVIRONMENT, DriftThreshold(max_unapproved=10)))

    root = ET.fromstring(xml)
    (suite,) = root.findall("testsuite")
    cases = _cases(suite)
    assert suite.attrib["name"] == "drift.shop-pr-1"
    assert suite.attrib["timestamp"] == "2024-06-15T09:30:00+00:00"
    assert {case.attrib["classname"] for case in cases.values()} == {"drift.shop-pr-1"}
    assert set(cases) == {"app.banner", "app.motd", "app.workers", "env.LOG_LEVEL", "env.SESSION_SECRET"}
    workers = cases["app.workers"].find("failure")
    assert workers is not None
    assert workers.attrib == {"type": "critical", "message": "changed: 8 → 2"}
    motd = cases["app.motd"].find("failure")
    assert motd is not None
    assert motd.attrib["message"] == 'changed: plain → say "<hi>" & \\x1b[1mbye\\x00'
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("5", "4")
    assert (root.attrib["tests"], root.attrib["failures"]) == ("5", "4")


def test_an_approved_difference_passes_and_names_its_approval() -> None:
    root = ET.fromstring(_render(("e", ENVIRONMENT, DriftThreshold(max_unapproved=10))))

    banner = _cases(root.findall("testsuite")[0])["app.banner"]

    assert banner.find("failure") is None
    out = banner.findtext("system-out") or ""
    assert out.splitlines()[0] == (
        "approved by ana: A/B test <v2> (pattern app.banner, expires 2024-06-15, created 2024-06-01)"
    )
    assert "changed: a → b" in out


def test_secrets_appear_only_as_digests() -> None:
    xml = _render(("e", ENVIRONMENT, DriftThreshold()))

    secret = _cases(ET.fromstring(xml).findall("testsuite")[0])["env.SESSION_SECRET"].find("failure")
    assert secret is not None
    assert (
        secret.attrib["message"]
        == f"changed: {_digest('prod-session-value')} → {_digest('env-session-value')}"
    )
    assert "session-value" not in xml


def test_threshold_and_no_drift_cases_and_the_project_parser_agrees() -> None:
    xml = _render(
        ("drifted", ENVIRONMENT, DriftThreshold(max_unapproved=1)),
        ("clean", PRODUCTION, DriftThreshold()),
    )

    drifted, clean = ET.fromstring(xml).findall("testsuite")
    threshold = _cases(drifted)["threshold"].find("failure")
    assert threshold is not None
    assert threshold.attrib["message"] == "4 unapproved differences (1 critical, 3 minor); at most 1 allowed"
    assert list(_cases(clean)) == ["no drift"]
    assert _cases(clean)["no drift"].find("failure") is None
    run = parse_junit(xml.encode(), "drift.xml")
    assert [(s.name, s.tests, s.failures, s.passed) for s in run.suites] == [
        ("drift.drifted", 6, 5, 1),
        ("drift.clean", 1, 0, 1),
    ]
    assert (run.tests, run.failures, run.errors) == (7, 5, 0)
    assert "drift.drifted.threshold" in run.failed_cases
    assert (ET.fromstring(xml).attrib["tests"], ET.fromstring(xml).attrib["failures"]) == ("7", "5")


def test_stale_and_expired_approvals_are_noted_on_the_suite() -> None:
    suite = ET.fromstring(_render(("e", ENVIRONMENT, DriftThreshold()))).findall("testsuite")[0]

    notes = suite.findtext("system-out") or ""

    assert "stale approval: old.* (bo: gone)" in notes
    assert notes.splitlines()[0].startswith("4 unapproved (worst: critical), 1 approved")
