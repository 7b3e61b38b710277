"""`${VAR}` and `${VAR:-default}` in config strings; `$$` writes a literal `$`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from stagetui.config.yaml_lines import Location

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?")


class InterpolationError(ValueError):
    def __init__(self, location: Location, message: str) -> None:
        super().__init__(message)
        self.location = location


def interpolate(value: object, environ: Mapping[str, str], location: Location = ()) -> object:
    """Return `value` with every string's references replaced; raises InterpolationError naming the key."""
    if isinstance(value, str):
        return _substitute(value, environ, location)
    if isinstance(value, dict):
        return {key: interpolate(item, environ, (*location, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ, (*location, index)) for index, item in enumerate(value)]
    return value


def _substitute(text: str, environ: Mapping[str, str], location: Location) -> str:
    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name is None:
            raise InterpolationError(
                location, f"malformed reference {whole!r} (use ${{NAME}} or ${{NAME:-default}})"
            )
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        raise InterpolationError(location, f"environment variable {name} is not set (referenced as {whole})")

    return _REFERENCE.sub(replace, text)
