"""How much drift an environment may carry and still pass: a gate for CI and for the drift check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from stagetui.domain.drift import DriftItem, DriftReport, Severity

_MOST_SEVERE_FIRST = tuple(sorted(Severity, key=lambda severity: severity.rank, reverse=True))


@dataclass(frozen=True)
class DriftThreshold:
    """E.g. "0 unapproved, at most 3 approved, none of them above minor":
    `DriftThreshold(max_unapproved=0, max_approved=3, max_approved_severity=Severity.MINOR)`."""

    max_unapproved: int = 0
    max_approved: int | None = None  # None: any number of approved differences
    max_approved_severity: Severity | None = None  # an approved difference more severe than this fails

    def __post_init__(self) -> None:
        if self.max_unapproved < 0 or (self.max_approved is not None and self.max_approved < 0):
            raise ValueError("drift threshold counts cannot be negative")


@dataclass(frozen=True)
class ThresholdResult:
    passed: bool
    unapproved_by_severity: dict[Severity, int]  # every severity, most severe first
    approved_by_severity: dict[Severity, int]
    reasons: tuple[str, ...]  # why it failed, in plain words; empty when it passed


def _by_severity(items: Iterable[DriftItem]) -> dict[Severity, int]:
    counts = Counter(item.severity for item in items)
    return {severity: counts[severity] for severity in _MOST_SEVERE_FIRST}


def _differences(count: int, qualifier: str) -> str:
    return f"{count} {qualifier} difference{'' if count == 1 else 's'}"


def _breakdown(counts: dict[Severity, int]) -> str:
    return ", ".join(f"{count} {severity}" for severity, count in counts.items() if count)


def evaluate_threshold(report: DriftReport, threshold: DriftThreshold) -> ThresholdResult:
    """Passed, or the reasons it did not: too many unapproved differences, too many approved ones, or an
    approved difference above the allowed severity. An expired approval already counts as unapproved."""
    unapproved = _by_severity(report.unapproved)
    approved_items = [item for item in report.items if item.approval is not None]
    approved = _by_severity(approved_items)
    reasons: list[str] = []
    if report.count > threshold.max_unapproved:
        reasons.append(
            f"{_differences(report.count, 'unapproved')} ({_breakdown(unapproved)}); "
            f"at most {threshold.max_unapproved} allowed"
        )
    if threshold.max_approved is not None and len(approved_items) > threshold.max_approved:
        reasons.append(
            f"{_differences(len(approved_items), 'approved')} ({_breakdown(approved)}); "
            f"at most {threshold.max_approved} allowed"
        )
    if threshold.max_approved_severity is not None:
        limit = threshold.max_approved_severity
        above = {severity: count for severity, count in approved.items() if severity.rank > limit.rank}
        if total := sum(above.values()):
            reasons.append(
                f"{_differences(total, 'approved')} above {limit} ({_breakdown(above)}); "
                f"approved differences may be at most {limit}"
            )
    return ThresholdResult(not reasons, unapproved, approved, tuple(reasons))
