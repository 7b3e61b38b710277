"""Reading compose values by kind: each read returns the value or raises ComposeError at its key."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from stagetui.compose.errors import ComposeError
from stagetui.config.yaml_lines import LocatedDocument, Location

_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SECONDS_PER_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_COMPOSE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
NAME_RULE = "use lowercase letters, digits, '_' and '-', starting with a letter or digit"


@dataclass(frozen=True)
class Source:
    """The file being read: where errors point, and what paths and bare variables resolve against."""

    path: Path
    document: LocatedDocument
    environ: Mapping[str, str]

    @property
    def directory(self) -> Path:
        return self.path.parent.resolve()

    def error(self, location: Location, message: str) -> ComposeError:
        return ComposeError(self.path, self.document.line_of(location), location, message)


@dataclass(frozen=True)
class Node:
    """One value of the file with the key path that leads to it."""

    source: Source
    location: Location
    value: object

    def error(self, message: str) -> ComposeError:
        return self.source.error(self.location, message)

    def at(self, key: str | int, value: object) -> Node:
        return Node(self.source, (*self.location, key), value)

    @property
    def is_null(self) -> bool:
        return self.value is None

    def mapping(self) -> dict[str, Node]:
        if not isinstance(self.value, dict):
            raise self.error(f"must be a mapping (got {describe(self.value)})")
        entries: dict[str, Node] = {}
        for key, value in self.value.items():
            if not isinstance(key, str):
                raise self.at(str(key), value).error(f"keys must be strings (got {key!r}; quote it)")
            entries[key] = self.at(key, value)
        return entries

    def sequence(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"must be a list (got {describe(self.value)})")
        return [self.at(index, value) for index, value in enumerate(self.value)]

    def fields(
        self,
        supported: Collection[str],
        refused: Mapping[str, str] | None = None,
        *,
        extensions: bool = False,
    ) -> dict[str, Node]:
        """The mapping's supported entries; any other key raises, except `x-*` ones when `extensions`."""
        kept: dict[str, Node] = {}
        for key, node in self.mapping().items():
            if key in supported:
                kept[key] = node
            elif not (extensions and key.startswith("x-")):
                raise node.error(refusal(key, supported, refused or {}))
        return kept

    def required(self, fields: Mapping[str, Node], key: str) -> Node:
        if key not in fields:
            raise self.error(f"missing required key {key!r}")
        return fields[key]

    def text(self, *, allow_empty: bool = False) -> str:
        if not isinstance(self.value, str):
            raise self.error(f"must be a string (got {describe(self.value)})")
        if not allow_empty and not self.value.strip():
            raise self.error("must not be empty")
        return self.value

    def scalar_text(self) -> str:
        """A scalar as compose turns it into a string: true -> "true", 8080 -> "8080", 1.5 -> "1.5"."""
        value = self.value
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            try:
                return str(value)
            except ValueError:
                raise self.error("must be a shorter number (over 4,300 digits)") from None
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
        raise self.error(f"must be a string, a number or a boolean (got {describe(value)})")

    def integer(self, low: int, high: int | None = None) -> int:
        """An integer, also from a string of digits (what an interpolated `${PORT}` gives)."""
        value = self.value
        if isinstance(value, str) and re.fullmatch(r"[-+]?\d{1,100}", value.strip()):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"must be an integer (got {describe(self.value)})")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.error(f"must be {bounds} (got {describe(value)})")
        return value

    def boolean(self) -> bool:
        """A boolean, also from the strings "true"/"false" (what an interpolated `${FLAG}` gives)."""
        if isinstance(self.value, bool):
            return self.value
        if isinstance(self.value, str) and self.value.strip().lower() in {"true", "false"}:
            return self.value.strip().lower() == "true"
        raise self.error(f"must be true or false (got {describe(self.value)})")

    def duration(self) -> float:
        """Seconds from a compose duration such as `1m30s`, `500ms` or `1.5s`."""
        if not isinstance(self.value, str) or not _DURATION.fullmatch(self.value.strip()):
            raise self.error(
                f"must be a duration with a unit, such as 30s, 500ms or 1m30s (got {describe(self.value)})"
            )
        parts = _DURATION_PART.findall(self.value.strip())
        return round(sum(float(number) * _SECONDS_PER_UNIT[unit] for number, unit in parts), 9)

    def one_or_many(self) -> list[Node]:
        """A single value or a list of them, as a list."""
        return self.sequence() if isinstance(self.value, list) else [self]

    def key_values(self) -> list[tuple[str, str | None, Node]]:
        """Compose's list-or-mapping: `{K: V}` or `["K=V", "K"]`; None is the value of `K` alone or `K:`."""
        if self.is_null:
            return []
        if isinstance(self.value, list):
            pairs: list[tuple[str, str | None, Node]] = []
            for item in self.sequence():
                key, separator, value = item.text().partition("=")
                if not key.strip():
                    raise item.error(f"{item.value!r} has no name before '='")
                pairs.append((key.strip(), value if separator else None, item))
            return pairs
        return [
            (key, None if node.is_null else node.scalar_text(), node) for key, node in self.mapping().items()
        ]


def refusal(key: str, supported: Collection[str], refused: Mapping[str, str]) -> str:
    """Why `key` is refused, plus what is supported at its level (and the nearest name for a typo)."""
    allowed = sorted(supported)
    listing = f"supported here: {', '.join(allowed)}" if allowed else "no keys are supported here"
    if key in refused:
        return f"{key!r} is {refused[key]}; {listing}"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; {listing}"


def is_compose_name(name: str) -> bool:
    """Project and service names: compose's lowercase rule, so they embed in container names as they are."""
    return _COMPOSE_NAME.fullmatch(name) is not None


_SHOWN_LENGTH = 80


def describe(value: object) -> str:
    """A value as an error message quotes it."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits cannot be printed
        return "an integer too long to show"
    return text if len(text) <= _SHOWN_LENGTH else f"{text[: _SHOWN_LENGTH - 3]}..."
