"""Configuration drift between production and an environment, with severities, approvals and secret hiding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cached_property

from stagetui.domain.secrets import REDACTED, is_secret_key, redact_node
from stagetui.domain.tree_diff import MISSING, changed_leaves, same_value


class Severity(StrEnum):
    """Declared from least to most severe; compare with `rank` (str ordering would be alphabetical)."""

    INFO = "info"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_ORDER: tuple[Severity, ...] = tuple(Severity)


def worst_severity(severities: Iterable[Severity]) -> Severity | None:
    return max(severities, key=lambda severity: severity.rank, default=None)


class ChangeKind(StrEnum):
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"
    TYPE_CHANGED = "type_changed"


@dataclass(frozen=True)
class SeverityRule:
    pattern: str  # fnmatch glob on the dotted path; the first matching rule wins
    severity: Severity


@dataclass(frozen=True)
class Approval:
    pattern: str  # fnmatch glob on the dotted path
    reason: str
    approver: str
    expires: dt.date | None = None  # last valid day, inclusive

    def is_valid_on(self, day: dt.date) -> bool:
        return self.expires is None or day <= self.expires

    def to_dict(self) -> dict[str, object]:
        expires = self.expires.isoformat() if self.expires else None
        return {"pattern": self.pattern, "reason": self.reason, "approver": self.approver, "expires": expires}


@dataclass(frozen=True)
class DriftItem:
    path: str
    kind: ChangeKind
    production: object  # None when absent from production (ADDED)
    environment: object  # None when absent from the environment (REMOVED)
    severity: Severity
    secret: bool
    approval: Approval | None  # an unexpired approval covering this item

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": str(self.kind),
            "production": _json_value(self.production, self.secret),
            "environment": _json_value(self.environment, self.secret),
            "severity": str(self.severity),
            "secret": self.secret,
            "approval": self.approval.to_dict() if self.approval else None,
        }


@dataclass(frozen=True)
class DriftReport:
    items: tuple[DriftItem, ...]
    expired_approvals: tuple[Approval, ...]  # matched an item but expired: that item counts as drift again
    stale_approvals: tuple[Approval, ...]  # matched no item at all

    @cached_property
    def unapproved(self) -> tuple[DriftItem, ...]:
        return tuple(item for item in self.items if item.approval is None)

    @property
    def count(self) -> int:
        return len(self.unapproved)

    @property
    def approved_count(self) -> int:
        return len(self.items) - self.count

    @property
    def worst(self) -> Severity | None:
        return worst_severity(item.severity for item in self.unapproved)

    @property
    def ok(self) -> bool:
        return self.count == 0

    def summary(self) -> str:
        text = f"{self.count} unapproved"
        if self.worst is not None:
            text += f" (worst: {self.worst})"
        text += f", {self.approved_count} approved"
        if self.expired_approvals:
            text += f", {len(self.expired_approvals)} expired approval(s)"
        if self.stale_approvals:
            text += f", {len(self.stale_approvals)} stale approval(s)"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "count": self.count,
            "approved_count": self.approved_count,
            "worst": str(self.worst) if self.worst else None,
            "summary": self.summary(),
            "items": [item.to_dict() for item in self.items],
            "expired_approvals": [approval.to_dict() for approval in self.expired_approvals],
            "stale_approvals": [approval.to_dict() for approval in self.stale_approvals],
        }


def _json_value(value: object, secret: bool) -> object:
    # Re-redacts secret items: a DriftItem built outside compute_drift must not leak either.
    if secret and value is not None:
        return REDACTED
    if isinstance(value, Mapping):
        return {str(key): _json_value(child, False) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(child, False) for child in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.date | dt.time):  # YAML and TOML load dates natively
        return value.isoformat()
    return str(value)


def _is_secret_path(path: str, patterns: Sequence[str]) -> bool:
    # Everything below a secret key is secret too (e.g. `db.credentials.user`).
    segments = path.split(".")
    return any(is_secret_key(".".join(segments[: i + 1]), patterns) for i in range(len(segments)))


def _kind(prod: object, env: object) -> ChangeKind:
    if prod is MISSING:
        return ChangeKind.ADDED
    if env is MISSING:
        return ChangeKind.REMOVED
    if type(prod) is not type(env):
        return ChangeKind.TYPE_CHANGED
    return ChangeKind.CHANGED


def _severity(path: str, rules: Sequence[SeverityRule], default: Severity) -> Severity:
    return next((rule.severity for rule in rules if fnmatchcase(path, rule.pattern)), default)


def _shown(value: object, path: str, secret: bool, patterns: Sequence[str]) -> object:
    if value is MISSING:
        return None
    if secret:
        return REDACTED
    return redact_node(value, path, patterns)


def compute_drift(
    production: Mapping[str, object],
    environment: Mapping[str, object],
    *,
    severity_rules: Sequence[SeverityRule] = (),
    default_severity: Severity = Severity.MINOR,
    approvals: Sequence[Approval] = (),
    today: dt.date,
    secret_patterns: Sequence[str] = (),
) -> DriftReport:
    """Compare two nested config trees. Secret values never leave this function unredacted.

    A secret whose value differs is not drift (every environment carries its own secrets); a secret that is
    missing on one side is. `today` decides approval expiry.
    """
    items: list[DriftItem] = []
    matched: set[int] = set()
    expired: set[int] = set()
    for path, (prod, env) in sorted(changed_leaves(production, environment).items()):
        secret = _is_secret_path(path, secret_patterns)
        shown_prod = _shown(prod, path, secret, secret_patterns)
        shown_env = _shown(env, path, secret, secret_patterns)
        if prod is not MISSING and env is not MISSING and same_value(shown_prod, shown_env):
            continue  # only an embedded secret differs, e.g. the password inside a database URL
        approval: Approval | None = None
        for index, candidate in enumerate(approvals):
            if not fnmatchcase(path, candidate.pattern):
                continue
            matched.add(index)
            if not candidate.is_valid_on(today):
                expired.add(index)
            elif approval is None:
                approval = candidate
        items.append(
            DriftItem(
                path=path,
                kind=_kind(prod, env),
                production=shown_prod,
                environment=shown_env,
                severity=_severity(path, severity_rules, default_severity),
                secret=secret,
                approval=approval,
            )
        )
    return DriftReport(
        items=tuple(items),
        expired_approvals=tuple(a for i, a in enumerate(approvals) if i in expired),
        stale_approvals=tuple(a for i, a in enumerate(approvals) if i not in matched),
    )
