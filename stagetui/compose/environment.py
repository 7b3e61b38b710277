"""A service's variables: `env_file` entries first, then `environment` over them (compose's precedence)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from stagetui.compose.values import Node

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_EXPORT = re.compile(r"^export\s+")
_INLINE_COMMENT = re.compile(r"\s+#.*$")


def service_environment(fields: Mapping[str, Node]) -> dict[str, str]:
    """The variables of one service, from its `env_file` and `environment` keys."""
    variables: dict[str, str] = {}
    if "env_file" in fields:
        for entry in fields["env_file"].one_or_many():
            variables.update(read_env_file(entry))
    if "environment" in fields:
        variables.update(resolved_variables(fields["environment"]))
    return variables


def resolved_variables(node: Node) -> dict[str, str]:
    """`environment:` or build `args:`, a mapping or a list; a bare `K` takes the caller's value, or is
    dropped when the caller has none."""
    variables: dict[str, str] = {}
    for key, value, _ in node.key_values():
        resolved = node.source.environ.get(key) if value is None else value
        if resolved is not None:
            variables[key] = resolved
    return variables


def read_env_file(node: Node) -> dict[str, str]:
    """The variables of one `env_file` entry: a path relative to the compose file's directory."""
    path = node.source.directory / node.text()
    if not path.is_file():
        raise node.error(f"env file {path} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise node.error(f"cannot read env file {path}: {error}") from None
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _EXPORT.sub("", line.strip(), count=1)
        if not entry or entry.startswith("#"):
            continue
        key, separator, raw = entry.partition("=")
        key = key.strip()
        if not _VARIABLE_NAME.fullmatch(key):
            raise node.error(f"env file {path}, line {number}: {key!r} is not a variable name")
        if not separator:
            # A bare name passes the caller's value through, as compose does; unset means absent.
            if key in node.source.environ:
                variables[key] = node.source.environ[key]
            continue
        value = _env_file_value(raw.strip())
        if value is None:
            raise node.error(
                f"env file {path}, line {number}: the quoted value of {key} is not closed, or text follows it"
            )
        variables[key] = value
    return variables


def _env_file_value(raw: str) -> str | None:
    """The value with its quotes stripped, or a trailing ` # comment` when unquoted; None: unclosed quote."""
    if raw[:1] in {"'", '"'}:
        end = raw.find(raw[0], 1)
        if end == -1:
            return None
        rest = raw[end + 1 :].strip()
        return raw[1:end] if not rest or rest.startswith("#") else None
    return _INLINE_COMMENT.sub("", raw)
