from __future__ import annotations

from datetime import timedelta

import pytest

from stagetui.domain.durations import InvalidDurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("8h", 28800), ("7d", 604800), ("1h30m", 5400), ("2w", 1209600), ("45", 45)],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "1h-3m", "h"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidDurationError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "250ms"), (12.34, "12.3s"), (245, "4m05s"), (11520, "3h12m"), (187200, "2d04h"), (-30, "-30.0s")],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert format_duration(None) == "-"
