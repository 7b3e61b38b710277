"""A service's `healthcheck:`; disabled or `NONE` becomes None."""

from __future__ import annotations

from stagetui.compose.model import Healthcheck
from stagetui.compose.unsupported import HEALTHCHECK
from stagetui.compose.values import Node

HEALTHCHECK_KEYS = ("disable", "interval", "retries", "start_period", "test", "timeout")
_TEST_FORMS = '["CMD", "program", "arg"], ["CMD-SHELL", "command line"], ["NONE"] or a command line string'


def parse_healthcheck(node: Node) -> Healthcheck | None:
    fields = node.fields(HEALTHCHECK_KEYS, HEALTHCHECK)
    disabled = fields["disable"].boolean() if "disable" in fields else False
    test = _test(fields["test"]) if "test" in fields else None
    if disabled:
        if test not in {None, ("NONE",)}:
            raise fields["test"].error("`disable: true` turns the check off; remove `test` or `disable`")
        return None
    if test is None:
        # The model cannot express "the image's test with these timings", so a test is required.
        raise node.error("missing required key 'test' (stagetui does not reuse the image's HEALTHCHECK)")
    if test == ("NONE",):
        return None
    return Healthcheck(
        test=test,
        interval=_positive_duration(fields["interval"]) if "interval" in fields else Healthcheck.interval,
        timeout=_positive_duration(fields["timeout"]) if "timeout" in fields else Healthcheck.timeout,
        retries=fields["retries"].integer(1) if "retries" in fields else Healthcheck.retries,
        start_period=fields["start_period"].duration()
        if "start_period" in fields
        else Healthcheck.start_period,
    )


def _test(node: Node) -> tuple[str, ...]:
    if isinstance(node.value, str):
        return ("CMD-SHELL", node.text())
    items = node.sequence()
    words = tuple(item.scalar_text() for item in items)
    kind = words[0] if words else None
    if kind == "NONE" and len(words) == 1:
        return words
    if kind == "CMD" and len(words) >= 2:
        return words
    if kind == "CMD-SHELL" and len(words) == 2:
        return words
    raise node.error(f"must be {_TEST_FORMS}")


def _positive_duration(node: Node) -> float:
    seconds = node.duration()
    if seconds <= 0:
        raise node.error("must be longer than 0s")
    return seconds
