"""Drift reports as JUnit XML, so CI shows each difference as a test: unapproved ones fail, approved ones
pass with their approval, and a failed threshold is a failing case of its own.

Values come from `DriftItem.to_dict()`, so secrets are as hidden (digest or REDACTED) as everywhere else.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from stagetui.domain.drift import DriftItem, DriftReport
from stagetui.domain.drift_threshold import ThresholdResult

MESSAGE_WIDTH = 200
"""The `message` attribute is a one-liner in CI summaries; the full values are in the element's text."""

# Characters XML 1.0 cannot carry at all, not even escaped: ElementTree would write them and produce a file
# no parser reads. Config values can hold them (an ANSI colour code in a log format, say).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _value_text(value: object) -> str:
    if value is None:
        return "—"  # absent on that side
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_WIDTH else line[: MESSAGE_WIDTH - 1] + "…"


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=_xml_text(name), time="0")


def _item_case(suite: ET.Element, classname: str, item: DriftItem) -> bool:
    """Adds the item's case; True when it failed."""
    data = item.to_dict()
    change = f"{item.kind}: {_value_text(data['production'])} → {_value_text(data['environment'])}"
    details = [change, f"severity: {item.severity}"] + (
        [f"detail: {data['detail']}"] if data["detail"] else []
    )
    case = _case(suite, classname, item.path)
    approval = item.approval
    if approval is None:
        failure = ET.SubElement(
            case, "failure", type=str(item.severity), message=_xml_text(_one_line(change))
        )
        failure.text = _xml_text("\n".join(details))
        return True
    expires = approval.expires.isoformat() if approval.expires else "never"
    created = f", created {approval.created.isoformat()}" if approval.created else ""
    approved = f"approved by {approval.approver}: {approval.reason}"
    approved += f" (pattern {approval.pattern}, expires {expires}{created})"
    ET.SubElement(case, "system-out").text = _xml_text("\n".join([approved, *details]))
    return False


def _suite(parent: ET.Element, env_id: str, report: DriftReport, result: ThresholdResult, stamp: str) -> None:
    classname = _xml_text(f"drift.{env_id}")
    suite = ET.SubElement(parent, "testsuite", name=classname, timestamp=stamp)
    failures = sum(_item_case(suite, classname, item) for item in report.items)
    tests = len(report.items)
    if not report.items:
        _case(suite, classname, "no drift")
        tests += 1
    if not result.passed:
        case = _case(suite, classname, "threshold")
        reasons = "; ".join(result.reasons)
        failure = ET.SubElement(case, "failure", type="threshold", message=_xml_text(_one_line(reasons)))
        failure.text = _xml_text("\n".join(result.reasons))
        tests += 1
        failures += 1
    suite.attrib.update(tests=str(tests), failures=str(failures), errors="0", skipped="0", time="0")
    notes = [report.summary()]
    notes += [f"expired approval: {a.pattern} ({a.approver}: {a.reason})" for a in report.expired_approvals]
    notes += [f"stale approval: {a.pattern} ({a.approver}: {a.reason})" for a in report.stale_approvals]
    ET.SubElement(suite, "system-out").text = _xml_text("\n".join(notes))


def _error_suite(root: ET.Element, env_id: str, message: str, stamp: str) -> None:
    """An environment that could not be checked: one erroring case, so CI shows which and why."""
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"drift.{_xml_text(env_id)}",
        timestamp=stamp,
        tests="1",
        failures="0",
        errors="1",
        skipped="0",
        time="0",
    )
    case = ET.SubElement(
        suite, "testcase", classname=f"drift.{_xml_text(env_id)}", name="drift check", time="0"
    )
    ET.SubElement(case, "error", type="error", message=_xml_text(message)).text = _xml_text(message)


def render_junit(
    reports: Sequence[tuple[str, DriftReport, ThresholdResult]],
    timestamp: datetime,
    errors: Sequence[tuple[str, str]] = (),
) -> str:
    """One `<testsuite name="drift.<environment id>">` per (environment id, report, threshold result), and
    one with an erroring case per (environment id, message) that could not be checked."""
    root = ET.Element("testsuites", name="drift")
    stamp = timestamp.isoformat(timespec="seconds")
    for env_id, report, result in reports:
        _suite(root, env_id, report, result, stamp)
    for env_id, message in errors:
        _error_suite(root, env_id, message, stamp)
    for total in ("tests", "failures", "errors"):
        root.set(total, str(sum(int(suite.get(total, "0")) for suite in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
