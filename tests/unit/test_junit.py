from __future__ import annotations

import re
from pathlib import Path

import pytest

from stagetui.domain import junit
from stagetui.domain.junit import JUnitError, SuiteResult, TestRun, parse_junit, parse_time

FIXTURES = Path(__file__).parent / "fixtures" / "junit"


def _load(name: str) -> TestRun:
    return parse_junit((FIXTURES / name).read_bytes(), name)


def _counts(run: TestRun) -> tuple[int, int, int, int, int]:
    return run.tests, run.passed, run.failures, run.errors, run.skipped


def test_pytest_testsuites_root() -> None:
    run = _load("pytest.xml")
    assert _counts(run) == (5, 2, 1, 1, 1)
    assert run.pass_rate == pytest.approx(0.5)  # skipped cases did not run: 2 of 4
    assert run.seconds == pytest.approx(2.345)
    assert run.failed_cases == ("tests.test_orders.test_refund", "tests.test_payments.test_charge")
    assert run.suites == (SuiteResult("pytest", 5, 2, 1, 1, 1, 2.345),)
    assert run.source == "pytest.xml"
    assert run.flaky == 0


def test_pytest_legacy_bare_testsuite_without_aggregates_or_suite_time() -> None:
    run = _load("pytest_legacy.xml")
    assert _counts(run) == (3, 2, 0, 0, 1)
    assert run.pass_rate == 1.0
    assert run.seconds == pytest.approx(0.057)  # summed from the cases


def test_surefire_reruns_count_flaky_as_passed_and_final_failures_as_failed() -> None:
    run = _load("TEST-com.example.orders.OrderServiceTest.xml")
    assert _counts(run) == (4, 2, 1, 0, 1)
    assert run.flaky == 1
    assert run.flaky_cases == ("com.example.orders.OrderServiceTest.reservesStockUnderLoad",)
    # A case with <failure> plus <rerunFailure>s failed every rerun: one failure, not flaky.
    assert run.failed_cases == ("com.example.orders.OrderServiceTest.cancelsOrder",)
    assert run.pass_rate == pytest.approx(2 / 3)
    assert run.seconds == pytest.approx(1234.567)  # `1,234.567`: grouping comma


def test_gradle_per_class_file() -> None:
    run = _load("gradle.xml")
    assert _counts(run) == (3, 2, 1, 0, 0)
    assert run.failed_cases == ("com.example.billing.InvoiceTest.roundsHalfEven()",)
    assert run.suites[0].name == "com.example.billing.InvoiceTest"


def test_jest_junit_suites_and_wall_time_from_the_root() -> None:
    run = _load("jest.xml")
    assert _counts(run) == (4, 2, 1, 0, 1)
    assert run.seconds == pytest.approx(3.21)
    assert [(s.name, s.tests, s.passed, s.failures, s.skipped, s.seconds) for s in run.suites] == [
        ("cart", 3, 1, 1, 1, 1.8),
        ("checkout", 1, 1, 0, 0, 1.4),
    ]


def test_nested_ant_suites_ignore_wrong_outer_aggregates() -> None:
    run = _load("ant_nested.xml")
    assert _counts(run) == (5, 4, 0, 1, 0)  # the outer suite claims tests="2"
    assert run.pass_rate == pytest.approx(0.8)
    assert run.failed_cases == ("com.example.inventory.ReorderTest.testSupplierDown",)
    assert [(s.name, s.tests) for s in run.suites] == [
        ("AllTests > com.example.inventory.StockTest", 2),
        ("AllTests > com.example.inventory.ReorderTest", 2),  # its own cases; the nested suite is apart
        ("AllTests > com.example.inventory.ReorderTest > edge cases", 1),
    ]
    assert [s.seconds for s in run.suites] == pytest.approx([0.30, 0.25, 0.05])
    assert run.seconds == pytest.approx(0.60)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("empty.xml", r"^empty\.xml: empty file"),
        ("truncated.xml", r"^truncated\.xml:6: not well-formed XML"),
        ("not_junit.xml", r"^not_junit\.xml: root element <checkstyle> is not JUnit"),
        ("doctype_entities.xml", r"^doctype_entities\.xml: DOCTYPE declarations are refused"),
    ],
)
def test_broken_files_name_the_source(name: str, pattern: str) -> None:
    with pytest.raises(JUnitError, match=pattern):
        _load(name)


def test_parse_error_names_the_failing_line() -> None:
    data = b"<testsuite>\n  <testcase name='a'>\n</testsuite>\n"
    with pytest.raises(JUnitError, match=r"^ci/report\.xml:3: .*mismatched tag"):
        parse_junit(data, "ci/report.xml")


def test_external_entities_and_undefined_entities_are_refused() -> None:
    external = b'<?xml version="1.0"?>\n<!DOCTYPE t SYSTEM "file:///etc/passwd">\n<testsuite/>'
    with pytest.raises(JUnitError, match="DOCTYPE"):
        parse_junit(external, "x.xml")
    with pytest.raises(JUnitError, match=r"^x\.xml:2: .*undefined entity"):
        parse_junit(b"<testsuite>\n<testcase name='&secret;'/></testsuite>", "x.xml")


def test_whitespace_only_file_is_empty() -> None:
    with pytest.raises(JUnitError, match="empty file"):
        parse_junit(b"  \n\t\n", "blank.xml")


def test_oversized_input_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(junit, "MAX_BYTES", 64)
    with pytest.raises(JUnitError, match=r"^big\.xml: .*over the"):
        parse_junit(b"<testsuite>" + b" " * 64 + b"</testsuite>", "big.xml")


def test_a_failure_outranks_a_skip_and_an_error_outranks_a_failure() -> None:
    data = b"""<testsuite name="s">
      <testcase classname="c" name="skipped_but_failed"><skipped/><failure/></testcase>
      <testcase classname="c" name="both"><failure/><error/></testcase>
    </testsuite>"""
    run = parse_junit(data, "s.xml")
    assert (run.failures, run.errors, run.skipped) == (1, 1, 0)


def test_nothing_ran_gives_no_pass_rate() -> None:
    all_skipped = parse_junit(
        b'<testsuite name="s"><testcase name="a"><skipped/></testcase></testsuite>', "s"
    )
    assert all_skipped.pass_rate is None
    empty = parse_junit(b"<testsuites/>", "s")
    assert (empty.tests, empty.pass_rate, empty.suites) == (0, None, ())


def test_namespaced_root_and_cases_straight_under_testsuites() -> None:
    data = b"""<testsuites xmlns="urn:example" name="merged">
      <testcase classname="c" name="loose" time="0.5"/>
      <testsuites><testsuite name="inner"><testcase name="deep"><failure/></testcase></testsuite></testsuites>
    </testsuites>"""
    run = parse_junit(data, "merged.xml")
    assert _counts(run) == (2, 1, 1, 0, 0)
    assert [s.name for s in run.suites] == ["merged", "inner"]
    assert run.failed_cases == ("deep",)


def test_failed_cases_are_capped_but_all_are_counted() -> None:
    cases = "".join(f'<testcase classname="c" name="t{i}"><failure/></testcase>' for i in range(60))
    run = parse_junit(f"<testsuite>{cases}</testsuite>".encode(), "many.xml")
    assert run.failures == 60
    assert len(run.failed_cases) == junit.MAX_FAILED_CASES
    assert run.failed_cases[0] == "c.t0"


def test_hostile_nesting_depth_is_refused() -> None:
    depth = junit.MAX_DEPTH + 5
    data = ("<testsuite>" * depth + "</testsuite>" * depth).encode()
    with pytest.raises(JUnitError, match=r"^deep\.xml: suites nested more than"):
        parse_junit(data, "deep.xml")


def test_utf16_encoded_file() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><testsuite name="é"><testcase name="ü"/></testsuite>'
    run = parse_junit(text.encode("utf-16"), "w.xml")
    assert (run.tests, run.suites[0].name) == (1, "é")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0.25", 0.25),
        (" 3 ", 3.0),
        ("1,234.5", 1234.5),
        ("1,234,567", 1234567.0),
        ("1,234", 1234.0),
        ("12,5", 12.5),
        ("0,123", 0.123),
        ("1.234,5", 1234.5),
        ("1 234,5", 1234.5),
        ("", None),
        ("n/a", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_parse_time_is_lenient(text: str | None, seconds: float | None) -> None:
    assert parse_time(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_error_messages_have_the_documented_shape() -> None:
    with pytest.raises(JUnitError) as caught:
        parse_junit(b"<testsuite>\n<", "r.xml")
    assert re.match(r"^r\.xml:\d+: ", str(caught.value))
