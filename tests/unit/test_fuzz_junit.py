"""Hostile JUnit XML: a TestRun or a JUnitError naming the file, never a traceback or entity expansion."""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagetui.domain.junit import JUnitError, TestRun, parse_junit
from tests.unit.fuzz_settings import fuzz

SOURCE = "results/junit.xml"
TAGS = ["testsuites", "testsuite", "testcase", "failure", "error", "skipped", "flakyFailure", "rerunError",
        "properties", "system-out", "x"]  # fmt: skip
ATTRIBUTE_VALUES = st.one_of(
    st.sampled_from(["", "-1", "0", "3", "1,234.5", "1.234,5", "nan", "inf", "-inf", "1e309", "abc", " 12 "]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=12),
)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["name", "classname", "time", "tests", "failures", "errors", "skipped", "timestamp"]),
    ATTRIBUTE_VALUES,
    max_size=5,
)


def _tree(depth: int) -> st.SearchStrategy[ET.Element]:
    def build(tag: str, attributes: dict[str, str], children: list[ET.Element]) -> ET.Element:
        element = ET.Element(tag, attributes)
        element.extend(children)
        return element

    children = st.lists(_tree(depth - 1), max_size=4) if depth > 0 else st.just([])
    return st.builds(build, st.sampled_from(TAGS), ATTRIBUTES, children)


def _check(run: TestRun) -> None:
    assert run.source == SOURCE
    assert run.tests == run.passed + run.failures + run.errors + run.skipped
    assert min(run.tests, run.passed, run.failures, run.errors, run.skipped, run.flaky) >= 0
    assert run.seconds >= 0 and math.isfinite(run.seconds)
    assert run.pass_rate is None or 0 <= run.pass_rate <= 1
    assert sum(suite.tests for suite in run.suites) == run.tests


def _parse(data: bytes) -> TestRun | JUnitError:
    try:
        run = parse_junit(data, SOURCE)
    except JUnitError as error:
        assert str(error).startswith(SOURCE + ":")
        return error
    _check(run)
    return run


@fuzz(200)
@given(root=_tree(4))
def test_random_element_trees(root: ET.Element) -> None:
    _parse(ET.tostring(root))


@fuzz(200)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text(text: str | bytes) -> None:
    _parse(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)


XML_PIECES = st.sampled_from(
    ["<testsuite>", "</testsuite>", "<testcase name='a'/>", "<testcase>", "</testcase>", "<failure/>",
     "<testsuites>", "</testsuites>", "<!-- c -->", "<?pi x?>", "<![CDATA[x]]>", "&amp;", "&x;", "&#0;",
     "<", ">", "'", '"', " time='-1'", "<skipped/>", "<?xml version='1.0'?>", "\x00", "é"]
)  # fmt: skip


@fuzz(200)
@given(pieces=st.lists(XML_PIECES, max_size=25))
def test_xml_ish_text(pieces: list[str]) -> None:
    _parse("".join(pieces).encode("utf-8"))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite><testcase name="&secret;"/></testsuite>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/evil.dtd">
<testsuite><testcase name="a"/></testsuite>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<testsuite/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_hostile_xml_is_refused_without_expansion(data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(JUnitError, match="DOCTYPE declarations are refused"):
        parse_junit(data, SOURCE)
    assert time.perf_counter() - started < 1


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    depth = 5000
    data = ("<testsuite>" * depth + "</testsuite>" * depth).encode()
    with pytest.raises(JUnitError, match="nested more than"):
        parse_junit(data, SOURCE)
    data = ("<testsuites>" * depth + "</testsuites>" * depth).encode()
    with pytest.raises(JUnitError, match="nested more than"):
        parse_junit(data, SOURCE)


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        # Regression: summing times recursed through these without a bound (RecursionError).
        ("<testsuite>" + "<testcase>" * 5000, "</testcase>" * 5000 + "</testsuite>"),
        ("<testsuite><testsuites>" * 2500, "</testsuites></testsuite>" * 2500),
    ],
)
def test_deeply_nested_cases_are_refused_not_a_recursion_error(opening: str, closing: str) -> None:
    with pytest.raises(JUnitError, match=r"^results/junit\.xml: elements nested more than 64 deep"):
        parse_junit((opening + closing).encode(), SOURCE)


def test_cases_nested_a_little_still_count_their_time() -> None:
    run = parse_junit(b"<testsuite><testcase><testcase time='2'/></testcase></testsuite>", SOURCE)
    assert run.seconds == 2 and run.tests == 1
