"""Configuration drift between production and an environment, with severities, approvals and secret hiding."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cached_property

from stagetui.domain.secrets import REDACTED, redact_value
from stagetui.domain.tree_diff import (
    MISSING,
    LeafChange,
    ListNode,
    SecretMatcher,
    diff_trees,
    plain,
    same_value,
)
from stagetui.domain.tree_diff import DriftInputError as DriftInputError  # re-exported: callers catch it here


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
    """An accepted difference. `environment` None applies everywhere; compute_drift does not know which
    environment it compares, so the caller passes only the approvals for which `applies_to` is true."""

    pattern: str  # fnmatch glob on the dotted path
    reason: str
    approver: str
    expires: dt.date | None = None  # last valid day, inclusive
    created: dt.date | None = None
    environment: str | None = None  # an environment id

    def is_valid_on(self, day: dt.date) -> bool:
        return self.expires is None or day <= self.expires

    def applies_to(self, environment_id: str) -> bool:
        return self.environment is None or self.environment == environment_id

    def to_dict(self) -> dict[str, object]:
        return {
            "pattern": self.pattern,
            "reason": self.reason,
            "approver": self.approver,
            "expires": self.expires.isoformat() if self.expires else None,
            "created": self.created.isoformat() if self.created else None,
            "environment": self.environment,
        }


class Digest(str):
    """What the caller's `secret_digest` made of a secret value: safe to show and store, unlike the value."""

    __slots__ = ()


@dataclass(frozen=True)
class DriftItem:
    path: str
    kind: ChangeKind
    production: object  # None when absent from production (ADDED)
    environment: object  # None when absent from the environment (REMOVED)
    severity: Severity
    secret: bool  # values are a Digest or REDACTED
    approval: Approval | None  # an unexpired approval covering this item
    detail: str | None = None  # words on what changed inside a list, or that only an embedded secret did

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": str(self.kind),
            "production": _json_value(self.production, self.secret),
            "environment": _json_value(self.environment, self.secret),
            "severity": str(self.severity),
            "secret": self.secret,
            "approval": self.approval.to_dict() if self.approval else None,
            "detail": None if self.secret else self.detail,
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
    if secret and value is not None and not isinstance(value, Digest):
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


class _Shown:
    """Turns normalised values into what a DriftItem may hold: secrets as digests (or REDACTED), passwords
    inside strings redacted, lists given back as lists."""

    def __init__(self, matcher: SecretMatcher, digest: Callable[[object], str] | None) -> None:
        self.matcher = matcher
        self.digest = digest

    def secret(self, value: object) -> object:
        if value is MISSING:
            return None
        return Digest(self.digest(plain(value))) if self.digest else REDACTED

    def value(self, value: object, path: str) -> object:
        if value is MISSING:
            return None
        if isinstance(value, dict):
            element = isinstance(value, ListNode)
            shown = {
                key: self.secret(child) if self.matcher(sub, element) else self.value(child, sub)
                for key, child in value.items()
                for sub in (f"{path}.{key}",)
            }
            return list(shown.values()) if element else shown
        if isinstance(value, list):
            return [redact_value(item) for item in value]
        return redact_value(value)


def _kind(prod: object, env: object) -> ChangeKind:
    if prod is MISSING:
        return ChangeKind.ADDED
    if env is MISSING:
        return ChangeKind.REMOVED
    shapes = {list if isinstance(value, ListNode) else type(value) for value in (prod, env)}
    return ChangeKind.CHANGED if len(shapes) == 1 else ChangeKind.TYPE_CHANGED


def _some(values: Iterable[object], most: int = 5, width: int = 30) -> str:
    listed = [str(value) for value in values]
    text = ", ".join(item if len(item) <= width else item[: width - 1] + "…" for item in listed[:most])
    return text + (f" and {len(listed) - most} more" if len(listed) > most else "")


def _list_detail(prod: object, env: object) -> str | None:
    """What changed inside a list of scalars, in words: the whole lists are long and look alike."""
    if not isinstance(prod, list) or not isinstance(env, list):
        return None
    try:  # (type, value): 1, 1.0 and True are different config values
        before, after = Counter((type(v), v) for v in prod), Counter((type(v), v) for v in env)
    except TypeError:  # an unhashable scalar: the values speak for themselves
        return None
    if before == after:
        first = next((i for i, (a, b) in enumerate(zip(prod, env, strict=True)) if not same_value(a, b)), 0)
        return f"same {len(prod)} items, different order from position {first + 1}"
    changes = (("added", after - before), ("removed", before - after))
    return "; ".join(f"{word} {_some(v for _, v in items.elements())}" for word, items in changes if items)


def _describe(
    change: LeafChange, shown: _Shown, compare_secrets: bool
) -> tuple[ChangeKind, object, object, bool, str | None] | None:
    """(kind, production, environment, secret, detail) as reported, or None when it is not drift."""
    prod, env = change.production, change.environment
    both = prod is not MISSING and env is not MISSING
    if shown.matcher.covers(change.keys, change.elements):
        if both and not compare_secrets:
            return None  # every environment carries its own secrets: only presence is compared
        kind = ChangeKind.CHANGED if both else _kind(prod, env)  # a type change would say too much
        return kind, shown.secret(prod), shown.secret(env), True, None
    shown_prod, shown_env = shown.value(prod, change.path), shown.value(env, change.path)
    if both and same_value(shown_prod, shown_env):
        # Only a secret inside the value differs, e.g. the password in a database URL.
        if not compare_secrets:
            return None
        digests = f" ({shown.secret(prod)} → {shown.secret(env)})" if shown.digest else ""
        return ChangeKind.CHANGED, shown_prod, shown_env, False, f"only a secret inside differs{digests}"
    return _kind(prod, env), shown_prod, shown_env, False, _list_detail(shown_prod, shown_env)


def _severity(path: str, rules: Sequence[SeverityRule], default: Severity) -> Severity:
    return next((rule.severity for rule in rules if fnmatchcase(path, rule.pattern)), default)


def compute_drift(
    production: Mapping[str, object],
    environment: Mapping[str, object],
    *,
    severity_rules: Sequence[SeverityRule] = (),
    default_severity: Severity = Severity.MINOR,
    approvals: Sequence[Approval] = (),
    today: dt.date,
    secret_patterns: Sequence[str] = (),
    secret_keys: frozenset[str] = frozenset(),
    secret_digest: Callable[[object], str] | None = None,
    compare_secret_values: bool = False,
) -> DriftReport:
    """Compare two nested config trees (see tree_diff for paths and lists). Raises DriftInputError for a
    tree too deep, cyclic or too large.

    Secrets: keys named like one, matching `secret_patterns`, or listed in `secret_keys` (exact dotted keys
    a source declared secret), with everything below them. Their values are never reported: each is shown
    as `secret_digest(value)` (a keyed hash the caller makes: no key reaches the domain) or REDACTED.
    By default only presence counts (every environment carries its own secrets); `compare_secret_values`
    reports a differing secret as CHANGED too, which tells something only with a digest.

    `approvals` must already be those for this environment (`Approval.applies_to`); `today` decides expiry.
    """
    shown = _Shown(SecretMatcher(tuple(secret_patterns), frozenset(secret_keys)), secret_digest)
    items: list[DriftItem] = []
    matched: set[int] = set()
    expired: set[int] = set()
    for change in sorted(diff_trees(production, environment, secret=shown.matcher), key=lambda c: c.path):
        described = _describe(change, shown, compare_secret_values)
        if described is None:
            continue
        kind, shown_prod, shown_env, secret, detail = described
        path = change.path
        approval: Approval | None = None
        for index, candidate in enumerate(approvals):
            if not fnmatchcase(path, candidate.pattern):
                continue
            matched.add(index)
            if not candidate.is_valid_on(today):
                expired.add(index)
            elif approval is None:
                approval = candidate
        severity = _severity(path, severity_rules, default_severity)
        items.append(DriftItem(path, kind, shown_prod, shown_env, severity, secret, approval, detail))
    return DriftReport(
        items=tuple(items),
        expired_approvals=tuple(a for i, a in enumerate(approvals) if i in expired),
        stale_approvals=tuple(a for i, a in enumerate(approvals) if i not in matched),
    )
