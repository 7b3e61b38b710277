"""Prometheus text exposition format 0.0.4, written by hand so the product needs no client library.

Format: https://prometheus.io/docs/instrumenting/exposition_formats/ — one `# HELP` and `# TYPE` line per
family, then its samples as `name{label="value"} value [timestamp_ms]`, lines ending in `\\n`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["gauge", "counter", "summary", "untyped"]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SUMMARY_SUFFIXES = frozenset({"", "_sum", "_count"})
_KINDS = frozenset({"gauge", "counter", "summary", "untyped"})


@dataclass(frozen=True)
class Sample:
    """One line: the family name plus `name_suffix` (`""`, `_sum`, `_count`...), labels and value."""

    name_suffix: str
    labels: Mapping[str, str]
    value: float
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class MetricFamily:
    """A `summary` holds `{quantile="0.5"}` samples (suffix `""`) plus `_sum` and `_count` samples."""

    name: str
    kind: MetricKind
    help: str
    samples: tuple[Sample, ...]


def escape_label_value(value: str) -> str:
    # Backslash first, or the backslashes added for quotes and newlines would be doubled.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    # HELP text is not quoted, so a double quote stays as is (the format escapes only these two).
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """Go-parsable float text: `+Inf`, `-Inf`, `NaN`, otherwise Python's shortest round-trip repr."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return repr(number)


def _check_metric_name(name: str) -> None:
    if not _METRIC_NAME.fullmatch(name):
        raise ValueError(f"invalid metric name {name!r} (must match [a-zA-Z_:][a-zA-Z0-9_:]*)")


def _check_label_name(name: str, metric: str) -> None:
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"invalid label name {name!r} on {metric} (must match [a-zA-Z_][a-zA-Z0-9_]*)")
    if name.startswith("__"):
        raise ValueError(f"label name {name!r} on {metric}: names starting with __ are reserved")


def _check_sample(family: MetricFamily, sample: Sample) -> None:
    if family.kind != "summary":
        return
    if sample.name_suffix not in _SUMMARY_SUFFIXES:
        raise ValueError(f"summary {family.name}: unexpected sample suffix {sample.name_suffix!r}")
    if sample.name_suffix == "" and "quantile" not in sample.labels:
        raise ValueError(f"summary {family.name}: a sample without suffix needs a quantile label")
    if sample.name_suffix != "" and "quantile" in sample.labels:
        raise ValueError(f"summary {family.name}: {sample.name_suffix} must not have a quantile label")


def _sample_line(name: str, sample: Sample) -> str:
    labels = ""
    if sample.labels:
        pairs = ",".join(f'{key}="{escape_label_value(value)}"' for key, value in sample.labels.items())
        labels = "{" + pairs + "}"
    line = f"{name}{labels} {format_value(sample.value)}"
    return line if sample.timestamp_ms is None else f"{line} {int(sample.timestamp_ms)}"


def render(families: Iterable[MetricFamily]) -> str:
    """The exposition text, families in the order given. Raises ValueError for invalid names, a family
    given twice, a repeated series, or a malformed summary, rather than emit text a scraper rejects."""
    lines: list[str] = []
    seen_families: set[str] = set()
    seen_series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for family in families:
        _check_metric_name(family.name)
        if family.kind not in _KINDS:
            raise ValueError(f"{family.name}: unknown metric type {family.kind!r}")
        if family.name in seen_families:
            raise ValueError(f"metric family {family.name} given twice (Prometheus rejects a second TYPE)")
        seen_families.add(family.name)
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            name = family.name + sample.name_suffix
            _check_metric_name(name)
            for label in sample.labels:
                _check_label_name(label, name)
            _check_sample(family, sample)
            series = (name, tuple(sorted(sample.labels.items())))
            if series in seen_series:
                raise ValueError(f"series {name}{dict(sample.labels)} given twice")
            seen_series.add(series)
            lines.append(_sample_line(name, sample))
    return "".join(f"{line}\n" for line in lines)
