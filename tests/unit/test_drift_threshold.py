from __future__ import annotations

import pytest

from stagetui.domain.drift import Approval, ChangeKind, DriftItem, DriftReport, Severity
from stagetui.domain.drift_threshold import DriftThreshold, evaluate_threshold

APPROVAL = Approval("*", "known", "ana")


def _item(path: str, severity: Severity, approved: bool = False) -> DriftItem:
    return DriftItem(path, ChangeKind.CHANGED, 1, 2, severity, False, APPROVAL if approved else None)


def _report(*items: DriftItem) -> DriftReport:
    return DriftReport(items, (), ())


def test_no_drift_passes_the_default_threshold() -> None:
    result = evaluate_threshold(_report(), DriftThreshold())

    assert result.passed
    assert result.reasons == ()
    assert result.unapproved_by_severity == {severity: 0 for severity in Severity}


def test_unapproved_differences_over_the_limit_fail_with_a_breakdown() -> None:
    report = _report(
        _item("a", Severity.MINOR), _item("b", Severity.CRITICAL), _item("c", Severity.INFO, True)
    )

    result = evaluate_threshold(report, DriftThreshold())

    assert not result.passed
    assert result.reasons == ("2 unapproved differences (1 critical, 1 minor); at most 0 allowed",)
    assert list(result.unapproved_by_severity.items()) == [
        (Severity.CRITICAL, 1),
        (Severity.MAJOR, 0),
        (Severity.MINOR, 1),
        (Severity.INFO, 0),
    ]
    assert result.approved_by_severity[Severity.INFO] == 1
    assert evaluate_threshold(report, DriftThreshold(max_unapproved=2)).passed


def test_at_most_three_approved_minor_differences() -> None:
    threshold = DriftThreshold(max_unapproved=0, max_approved=3, max_approved_severity=Severity.MINOR)
    three_minor = [_item(f"k{i}", Severity.MINOR, approved=True) for i in range(3)]

    assert evaluate_threshold(_report(*three_minor, _item("i", Severity.INFO, True)), threshold).reasons == (
        "4 approved differences (3 minor, 1 info); at most 3 allowed",
    )
    assert evaluate_threshold(_report(*three_minor), threshold).passed
    above = evaluate_threshold(_report(_item("m", Severity.MAJOR, approved=True)), threshold)
    assert above.reasons == (
        "1 approved difference above minor (1 major); approved differences may be at most minor",
    )


def test_every_failed_rule_gives_its_own_reason() -> None:
    threshold = DriftThreshold(max_approved=0, max_approved_severity=Severity.INFO)
    report = _report(_item("a", Severity.MAJOR), _item("b", Severity.MINOR, approved=True))

    result = evaluate_threshold(report, threshold)

    assert result.reasons == (
        "1 unapproved difference (1 major); at most 0 allowed",
        "1 approved difference (1 minor); at most 0 allowed",
        "1 approved difference above info (1 minor); approved differences may be at most info",
    )


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DriftThreshold(max_unapproved=-1)
    with pytest.raises(ValueError, match="negative"):
        DriftThreshold(max_approved=-1)
