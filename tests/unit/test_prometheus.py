"""The exposition text is checked by parsing it back with the reference client's parser (tests only)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from stagetui.domain.prometheus import MetricFamily, Sample, render

HOSTILE_BRANCH = 'feat/"quoted"\n\\x'


def _parsed(text: str) -> list[tuple[str, str, str, list[tuple[str, dict[str, str], float, object]]]]:
    return [
        (
            family.name,
            family.type,
            family.documentation,
            [(s.name, dict(s.labels), s.value, s.timestamp) for s in family.samples],
        )
        for family in text_string_to_metric_families(text)
    ]


def test_exact_text_for_a_gauge() -> None:
    family = MetricFamily(
        "stagetui_environments",
        "gauge",
        "Live environments.",
        (
            Sample("", {"strategy": "snapshot", "runtime": "local"}, 3),
            Sample("", {"strategy": "full_clone", "runtime": "local"}, 0.5, timestamp_ms=1714644672000),
        ),
    )
    assert render([family]) == (
        "# HELP stagetui_environments Live environments.\n"
        "# TYPE stagetui_environments gauge\n"
        'stagetui_environments{strategy="snapshot",runtime="local"} 3.0\n'
        'stagetui_environments{strategy="full_clone",runtime="local"} 0.5 1714644672000\n'
    )


def test_round_trip_with_hostile_label_values_help_and_special_values() -> None:
    families = [
        MetricFamily(
            "stagetui_provisions_total",
            "counter",
            'Provisions finished.\nBy "strategy" and branch \\ runtime.',
            (
                Sample("", {"branch": HOSTILE_BRANCH, "strategy": "snapshot"}, 7, timestamp_ms=1714644672123),
                Sample("", {"branch": "main", "strategy": "snapshot"}, 0),
            ),
        ),
        MetricFamily(
            "stagetui_cost_per_day",
            "gauge",
            "",
            (
                Sample("", {"env": "a"}, math.inf),
                Sample("", {"env": "b"}, -math.inf),
                Sample("", {"env": "c"}, math.nan),
                Sample("", {"env": "d"}, 1e-9),
            ),
        ),
        MetricFamily(
            "stagetui_provision_seconds",
            "summary",
            "Provisioning time.",
            (
                Sample("", {"strategy": "snapshot", "quantile": "0.5"}, 12.5),
                Sample("", {"strategy": "snapshot", "quantile": "0.9"}, 40.25),
                Sample("_sum", {"strategy": "snapshot"}, 530.0),
                Sample("_count", {"strategy": "snapshot"}, 20),
            ),
        ),
    ]
    parsed = _parsed(render(families))
    # The reference parser reports a counter family without its `_total` suffix.
    assert [(name, kind, doc) for name, kind, doc, _ in parsed] == [
        ("stagetui_provisions", "counter", 'Provisions finished.\nBy "strategy" and branch \\ runtime.'),
        ("stagetui_cost_per_day", "gauge", ""),
        ("stagetui_provision_seconds", "summary", "Provisioning time."),
    ]
    assert parsed[0][3] == [
        (
            "stagetui_provisions_total",
            {"branch": HOSTILE_BRANCH, "strategy": "snapshot"},
            7.0,
            1714644672.123,
        ),
        ("stagetui_provisions_total", {"branch": "main", "strategy": "snapshot"}, 0.0, None),
    ]
    values = [value for _, _, value, _ in parsed[1][3]]
    assert values[:2] == [math.inf, -math.inf]
    assert math.isnan(values[2])
    assert values[3] == 1e-9
    assert [(name, labels, value) for name, labels, value, _ in parsed[2][3]] == [
        ("stagetui_provision_seconds", {"strategy": "snapshot", "quantile": "0.5"}, 12.5),
        ("stagetui_provision_seconds", {"strategy": "snapshot", "quantile": "0.9"}, 40.25),
        ("stagetui_provision_seconds_sum", {"strategy": "snapshot"}, 530.0),
        ("stagetui_provision_seconds_count", {"strategy": "snapshot"}, 20.0),
    ]


def test_escaping_is_exact() -> None:
    text = render([MetricFamily("m", "gauge", 'a\\b\nc "d"', (Sample("", {"b": HOSTILE_BRANCH}, 1),))])
    assert text.splitlines() == [
        '# HELP m a\\\\b\\nc "d"',
        "# TYPE m gauge",
        'm{b="feat/\\"quoted\\"\\n\\\\x"} 1.0',
    ]


@given(
    value=st.text(st.characters(codec="utf-8"), max_size=40),  # any text Python can encode
    number=st.floats(allow_nan=False),
)
def test_any_label_value_and_number_round_trip(value: str, number: float) -> None:
    # The reference parser strips whitespace around the HELP text: brackets keep the ends significant.
    help_text = f"<{value}>"
    text = render([MetricFamily("m", "gauge", help_text, (Sample("", {"v": value}, number),))])
    ((name, _, doc, samples),) = _parsed(text)
    assert (name, doc, samples) == ("m", help_text, [("m", {"v": value}, number, None)])
    assert text.endswith("\n") and text.count("\n") == 3


def test_families_in_the_given_order_with_one_help_and_type_each() -> None:
    names = ["zeta", "alpha", "mid"]
    text = render(MetricFamily(n, "gauge", n, (Sample("", {}, 1), Sample("", {"x": "1"}, 2))) for n in names)
    assert [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")] == names
    assert sum(line.startswith("# HELP") for line in text.splitlines()) == 3
    assert [family.name for family in text_string_to_metric_families(text)] == names


def test_empty_family_list_renders_nothing() -> None:
    assert render([]) == ""


@pytest.mark.parametrize(
    ("family", "message"),
    [
        (MetricFamily("1bad", "gauge", "", ()), "invalid metric name"),
        (MetricFamily("bad-name", "gauge", "", ()), "invalid metric name"),
        (MetricFamily("ok", "gauge", "", (Sample("-x", {}, 1),)), "invalid metric name 'ok-x'"),
        (MetricFamily("ok", "gauge", "", (Sample("", {"a:b": "x"}, 1),)), "invalid label name 'a:b'"),
        (MetricFamily("ok", "gauge", "", (Sample("", {"9a": "x"}, 1),)), "invalid label name"),
        (MetricFamily("ok", "gauge", "", (Sample("", {"__name__": "x"}, 1),)), "reserved"),
        (MetricFamily("ok", "summary", "", (Sample("", {}, 1),)), "needs a quantile label"),
        (MetricFamily("ok", "summary", "", (Sample("_bucket", {}, 1),)), "unexpected sample suffix"),
        (MetricFamily("ok", "summary", "", (Sample("_sum", {"quantile": "1"}, 1),)), "must not have"),
        (MetricFamily("ok", "gauge", "", (Sample("", {"a": "1"}, 1), Sample("", {"a": "1"}, 2))), "twice"),
    ],
)
def test_invalid_input_is_refused(family: MetricFamily, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render([family])


def test_colons_are_allowed_in_metric_names_but_a_family_given_twice_is_not() -> None:
    assert render([MetricFamily("job:requests:rate5m", "gauge", "", (Sample("", {}, 1),))]).endswith(" 1.0\n")
    with pytest.raises(ValueError, match="given twice"):
        render([MetricFamily("m", "gauge", "", ()), MetricFamily("m", "gauge", "", ())])
