"""Human durations such as `90s`, `30m`, `8h`, `7d` or `1h30m`, used for TTLs and max ages."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")


MAX_DURATION = timedelta(days=36525)
"""A hundred years: longer is a typo, and would overflow dates computed from it (`now + ttl`)."""


class InvalidDurationError(ValueError):
    """A duration string that does not parse."""


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; bare numbers are seconds. Raises InvalidDurationError."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isascii() and cleaned.isdigit():
        significant = cleaned.lstrip("0")
        seconds = int(significant or "0") if len(significant) <= 20 else _TOO_LONG
    elif not cleaned or _PART.sub("", cleaned):
        raise InvalidDurationError(f"{text!r} is not a duration (use e.g. 90s, 30m, 8h, 7d, 1h30m)")
    else:
        parts = _PART.findall(cleaned)
        too_long = any(len(n.lstrip("0")) > 20 for n, _ in parts)
        seconds = _TOO_LONG if too_long else sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidDurationError(f"{_shown(text)} is longer than 100 years")
    return timedelta(seconds=seconds)


_TOO_LONG = 2**70


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:37]!r}..."


def format_duration(delta: timedelta | float | None) -> str:
    """Compact text for a duration: `850ms`, `12.3s`, `4m05s`, `3h12m`, `2d04h`; `-` for None."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{sign}{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{sign}{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{sign}{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{sign}{whole // 86400}d{whole % 86400 // 3600:02d}h"
