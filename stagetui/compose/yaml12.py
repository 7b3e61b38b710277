"""Compose files are YAML 1.2: `22:22`, `yes`, `0755` and `2024-01-01` are strings there, not numbers,
booleans or dates as PyYAML's YAML 1.1 would read them (`22:22` would silently become the port 1342)."""

from __future__ import annotations

import re
from typing import Any

import yaml

_CORE_SCHEMA = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^<<$", ["<"]),
)


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader that resolves plain scalars by the YAML 1.2 core schema (no timestamps, no base 60)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # its own table, not SafeLoader's


for _tag, _pattern, _first in _CORE_SCHEMA:
    ComposeLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def load_yaml12(text: str) -> object:
    """The document's data read as compose reads it; YAML errors propagate (yaml.YAMLError)."""
    return yaml.load(text, Loader=ComposeLoader)
