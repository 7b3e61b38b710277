"""YAML parsing that remembers the line of every key, so validation errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stagetui.config.errors import ConfigError, ConfigProblem

Location = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 100_000
"""Nodes of a document with its aliases expanded: a few `&a [*b, *b, ...]` levels ("billion laughs") would
otherwise make every later walk over the data exponential."""
MAX_DEPTH = 100
"""Nesting of mappings and sequences; deeper (or an alias inside itself) would exhaust the stack."""


class _TooLargeError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class LocatedDocument:
    data: object
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        """Line of the deepest known prefix of `location` (pydantic locations can go below the YAML)."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return None


def parse_yaml(text: str, file: Path, *, construct: bool = True) -> LocatedDocument:
    """Parse one YAML document; syntax errors and duplicate keys raise ConfigError with a line.

    With `construct=False` only the line index is built (`data` stays None): for callers reading the values
    with another schema.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LocatedDocument({}, {(): 1})
        document = LocatedDocument(None, {})
        problems: list[ConfigProblem] = []
        try:
            _index(node, (), document.lines, problems, file, [0])
        except _TooLargeError as error:
            raise ConfigError.single(file, error.message, error.line) from None
        if problems:
            raise ConfigError(problems)
        if construct:
            document.data = loader.construct_document(node)
        return document
    except (ValueError, OverflowError) as error:
        # A scalar the YAML 1.1 resolvers match but cannot build: `2024-02-30`, an int of 5,000 digits.
        raise ConfigError.single(file, f"unreadable value: {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        opened = error.context_mark.line + 1 if error.context_mark else None
        if opened is not None and opened != line:
            message += f" (the construct began on line {opened})"
        raise ConfigError.single(file, f"YAML syntax error: {message}", line) from None
    except yaml.YAMLError as error:
        raise ConfigError.single(file, f"YAML error: {error}") from None
    finally:
        loader.dispose()


def _index(
    node: yaml.Node,
    location: Location,
    lines: dict[Location, int],
    problems: list[ConfigProblem],
    file: Path,
    visited: list[int],
) -> None:
    """Record the line of every key below `node`; `visited` counts nodes, aliases expanded."""
    visited[0] += 1
    if visited[0] > MAX_NODES:
        raise _TooLargeError(
            f"more than {MAX_NODES:,} values once aliases are expanded", node.start_mark.line + 1
        )
    if len(location) > MAX_DEPTH:
        raise _TooLargeError(
            f"nested more than {MAX_DEPTH} levels deep (or an alias refers to itself)",
            node.start_mark.line + 1,
        )
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            line = key_node.start_mark.line + 1
            if key in seen:
                dotted = ".".join(str(part) for part in (*location, key))
                problems.append(
                    ConfigProblem(file, line, dotted, f"duplicate key (first defined on line {seen[key]})")
                )
                continue
            seen[key] = line
            lines[(*location, key)] = line
            _index(value_node, (*location, key), lines, problems, file, visited)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*location, position), lines, problems, file, visited)
