"""Building blocks of the configuration model: the strict, frozen section base and duration fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from stagetui.domain.durations import MAX_DURATION, format_duration, parse_duration


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A ValueError (not timedelta's OverflowError) is what pydantic turns into a validation error.
        if not abs(value) <= MAX_DURATION.total_seconds():  # also NaN
            raise ValueError("must be a duration of at most 100 years")
        return timedelta(seconds=value)
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str),
]
PositiveDuration = Annotated[Duration, Field(gt=timedelta(0))]


class Section(BaseModel):
    """Unknown keys are errors (a typo never goes unnoticed); every field documents itself."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
