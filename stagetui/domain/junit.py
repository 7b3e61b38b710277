"""JUnit XML test results: pass rates and failed cases from the files CI tools write.

Counts come from the `<testcase>` elements themselves: the `tests=`/`failures=` aggregates on `<testsuite>`
are missing or wrong often enough (hand-merged files, some converters, Surefire reruns) not to be trusted.
Pure: the caller reads the file and passes its bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

MAX_BYTES = 50 * 1024 * 1024
"""Larger files are refused: real result files are kilobytes to a few megabytes, and the tree is in memory."""
MAX_FAILED_CASES = 50
MAX_DEPTH = 64

# Surefire writes these inside a case that failed and then passed on a rerun (flaky*), or alongside the final
# <failure>/<error> of a case that failed every rerun (rerun*). Without a final <failure>/<error> it passed.
_RERUN_TAGS = frozenset({"flakyFailure", "flakyError", "rerunFailure", "rerunError"})
_SUITE_PATH_SEPARATOR = " > "
_TIMED_TAGS = frozenset({"testsuites", "testsuite", "testcase"})
# `1,234.5` (grouping comma) or `1,234,567`: commas are thousands separators. Otherwise a lone comma is a
# decimal comma (`12,5`, `0,123`). `1,234` is read as 1234 s: Surefire's grouping comma is the common case.
_GROUPED = re.compile(r"^[1-9]\d{0,2}(,\d{3})+(\.\d*)?$")


class JUnitError(ValueError):
    """A file that is not JUnit XML we can read; the message names the source (and line when known)."""


class _DoctypeRefusedError(Exception):
    pass


class _NoDoctypeTreeBuilder(ET.TreeBuilder):
    """Refuses DOCTYPE: JUnit never needs one, and it is where entity-expansion and external-entity attacks
    live. Expat calls this at the start of the declaration, before any entity is declared."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeRefusedError(name)


@dataclass(frozen=True)
class SuiteResult:
    """A `<testsuite>` holding test cases directly; a nested one is named by its path (`outer > inner`)."""

    name: str
    tests: int
    passed: int
    failures: int
    errors: int
    skipped: int
    seconds: float


@dataclass(frozen=True)
class TestRun:
    """A whole result file. `passed` includes flaky cases (failed, then passed on a rerun)."""

    __test__ = False  # not a pytest test class, despite the name

    source: str
    suites: tuple[SuiteResult, ...]
    tests: int
    passed: int
    failures: int
    errors: int
    skipped: int
    seconds: float
    """The runner's own total `time` where it wrote one (wall time: parallel suites are not summed), else
    the sum of the suites' and then the cases' times."""
    pass_rate: float | None
    """passed / (tests - skipped); None when nothing ran."""
    failed_cases: tuple[str, ...]
    """`classname.name` of failed and errored cases, the first MAX_FAILED_CASES in file order."""
    flaky: int = 0
    """Cases counted as passed that failed first and passed on a Surefire rerun: worth a look."""
    flaky_cases: tuple[str, ...] = ()


@dataclass
class _Tally:
    tests: int = 0
    passed: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0


def _local(tag: object) -> str:
    # Comments and processing instructions have a function as tag; namespaced tags are `{uri}local`.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_time(text: str | None) -> float | None:
    """Seconds from a `time` attribute, leniently: None when missing or unreadable rather than an error."""
    if text is None:
        return None
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if _GROUPED.match(cleaned):
        cleaned = cleaned.replace(",", "")
    elif "," in cleaned and "." in cleaned:
        # `1.234,5`: dots group, the comma is the decimal separator.
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", ".")
    try:
        seconds = float(cleaned)
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds != float("inf") else None


def _case_id(case: ET.Element) -> str:
    classname = case.get("classname", "").strip()
    name = case.get("name", "").strip() or "(unnamed)"
    return f"{classname}.{name}" if classname else name


def _case_outcome(case: ET.Element) -> tuple[str, bool]:
    """(`passed`|`failure`|`error`|`skipped`, flaky). A failure outranks a skip: hiding one costs more."""
    tags = {_local(child.tag) for child in case}
    if "error" in tags:
        return "error", False
    if "failure" in tags:
        return "failure", False
    if "skipped" in tags:
        return "skipped", False
    return "passed", bool(tags & _RERUN_TAGS)


def _seconds(element: ET.Element, source: str, depth: int = 0) -> float:
    """The element's own `time`, else the sum over its child suites and cases (missing times count as 0)."""
    own = parse_time(element.get("time"))
    if own is not None:
        return own
    # The collector bounds the suites it walks, but not e.g. cases nested in cases: bound this walk too.
    if depth > MAX_DEPTH:
        raise JUnitError(f"{source}: elements nested more than {MAX_DEPTH} deep")
    return sum(_seconds(child, source, depth + 1) for child in element if _local(child.tag) in _TIMED_TAGS)


def _parse_xml(data: bytes, source: str) -> ET.Element:
    if len(data) > MAX_BYTES:
        raise JUnitError(f"{source}: {len(data):,} bytes is over the {MAX_BYTES // (1024 * 1024)} MB limit")
    if not data.strip():
        raise JUnitError(f"{source}: empty file, expected JUnit XML")
    parser = ET.XMLParser(target=_NoDoctypeTreeBuilder())
    try:
        parser.feed(data)
        return parser.close()
    except _DoctypeRefusedError:
        raise JUnitError(f"{source}: DOCTYPE declarations are refused in JUnit XML") from None
    except ET.ParseError as error:
        line, column = error.position
        raise JUnitError(f"{source}:{line}: not well-formed XML (column {column + 1}): {error.msg}") from None


class _Collector:
    """Walks the tree once, filling the run totals and one SuiteResult per suite that holds cases."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.total = _Tally()
        self.suites: list[SuiteResult] = []
        self.failed: list[str] = []
        self.flaky: list[str] = []

    def container(self, element: ET.Element, path: tuple[str, ...], depth: int = 0) -> None:
        """A `<testsuites>`: its suites, and any cases straight under it (seen from hand-rolled writers)."""
        self._check_depth(depth)
        loose = [child for child in element if _local(child.tag) == "testcase"]
        if loose:
            self._record(path or (element.get("name", "").strip() or "(no suite)",), loose, None)
        for child in element:
            tag = _local(child.tag)
            if tag == "testsuite":
                self.suite(child, (*path, child.get("name", "").strip()), depth + 1)
            elif tag == "testsuites":
                self.container(child, path, depth + 1)

    def suite(self, element: ET.Element, path: tuple[str, ...], depth: int = 0) -> None:
        self._check_depth(depth)
        cases = [child for child in element if _local(child.tag) == "testcase"]
        children = [child for child in element if _local(child.tag) == "testsuite"]
        # Ant-style wrappers hold only suites: reporting them as empty suites would be noise.
        if cases or not children:
            self._record(path, cases, element.get("time"))
        for child in children:
            self.suite(child, (*path, child.get("name", "").strip()), depth + 1)

    def _check_depth(self, depth: int) -> None:
        # Real files nest a few levels; a hostile one could nest deep enough to exhaust the stack.
        if depth > MAX_DEPTH:
            raise JUnitError(f"{self.source}: suites nested more than {MAX_DEPTH} deep")

    def _record(self, path: tuple[str, ...], cases: list[ET.Element], time: str | None) -> None:
        tally = _Tally()
        for case in cases:
            self._count(case, tally)
        own = parse_time(time)
        name = _SUITE_PATH_SEPARATOR.join(part for part in path if part) or "(unnamed)"
        seconds = own if own is not None else tally.seconds
        self.suites.append(
            SuiteResult(name, tally.tests, tally.passed, tally.failures, tally.errors, tally.skipped, seconds)
        )
        self.total.tests += tally.tests
        self.total.passed += tally.passed
        self.total.failures += tally.failures
        self.total.errors += tally.errors
        self.total.skipped += tally.skipped

    def _count(self, case: ET.Element, tally: _Tally) -> None:
        outcome, flaky = _case_outcome(case)
        tally.tests += 1
        tally.seconds += parse_time(case.get("time")) or 0.0
        if outcome == "passed":
            tally.passed += 1
            if flaky:
                self.flaky.append(_case_id(case))
        elif outcome == "skipped":
            tally.skipped += 1
        else:
            if outcome == "failure":
                tally.failures += 1
            else:
                tally.errors += 1
            self.failed.append(_case_id(case))


def parse_junit(data: bytes, source: str) -> TestRun:
    """Read JUnit XML with a `<testsuites>` or `<testsuite>` root, suites nested up to MAX_DEPTH deep.

    Raises JUnitError for an empty, oversized or malformed file, a DOCTYPE, or a root that is not JUnit.
    """
    root = _parse_xml(data, source)
    root_tag = _local(root.tag)
    collector = _Collector(source)
    if root_tag == "testsuite":
        collector.suite(root, (root.get("name", "").strip(),))
    elif root_tag == "testsuites":
        collector.container(root, ())
    else:
        raise JUnitError(
            f"{source}: root element <{root_tag}> is not JUnit (expected <testsuites> or <testsuite>)"
        )
    total = collector.total
    ran = total.tests - total.skipped
    return TestRun(
        source=source,
        suites=tuple(collector.suites),
        tests=total.tests,
        passed=total.passed,
        failures=total.failures,
        errors=total.errors,
        skipped=total.skipped,
        seconds=_seconds(root, source),
        pass_rate=total.passed / ran if ran else None,
        failed_cases=tuple(collector.failed[:MAX_FAILED_CASES]),
        flaky=len(collector.flaky),
        flaky_cases=tuple(collector.flaky[:MAX_FAILED_CASES]),
    )
