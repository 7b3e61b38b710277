"""Durations from any text: a timedelta of at most MAX_DURATION or an InvalidDurationError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stagetui.domain.durations import MAX_DURATION, InvalidDurationError, parse_duration
from tests.unit.fuzz_settings import fuzz

TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789smhdw ", max_size=40),
    st.integers(0, 10**40).map(str),
    st.sampled_from(["²", "١٢", "1e9", "-1h", "0", "٣s", "36525d", "36526d"]),
)


@fuzz(300)
@given(text=TEXT)
def test_any_text_is_a_bounded_duration_or_a_clear_error(text: str) -> None:
    try:
        duration = parse_duration(text)
    except InvalidDurationError as error:
        assert str(error)
        return
    assert timedelta(0) <= duration <= MAX_DURATION
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert now - duration < now + duration or not duration  # dates computed from it do not overflow
