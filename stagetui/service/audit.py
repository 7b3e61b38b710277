"""`stagetui audit`: the append-only trail of every read of production, every transformation, and which
environment received which data. Entries hold names, counts and rule versions, never values."""

from __future__ import annotations

from datetime import timedelta

from stagetui.domain.models import AuditEntry
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError
from stagetui.service.queries import resolve

DATA_ACTIONS = frozenset({"generate", "read", "mask", "verify-masking", "restore", "snapshot", "golden"})
"""Entries about data: reading production, transforming it, handing it to an environment."""


def audit_trail(
    core: ServiceCore,
    *,
    environment: str | None = None,
    since: timedelta | None = None,
    actions: frozenset[str] | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Oldest first; with `limit`, the newest `limit` entries. `environment` is an id, branch or prefix of
    a live or ended environment."""
    if limit is not None and limit < 1:
        raise BadInputError("--limit must be at least 1")
    start = core.clock() - since if since is not None else None
    entries = core.store.audit_trail(start)
    if environment is not None:
        env_id = resolve(core, environment, include_history=True).environment.id
        entries = [e for e in entries if e.environment_id == env_id or e.target == env_id]
    if actions is not None:
        entries = [e for e in entries if e.action in actions]
    return entries[-limit:] if limit is not None else entries
