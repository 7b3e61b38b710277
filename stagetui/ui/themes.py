"""Themes as data: every *.yaml in the themes folder becomes a Textual theme, alongside Textual's own."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import yaml
from textual.theme import BUILTIN_THEMES, Theme

THEMES_DIR = Path(str(resources.files("stagetui") / "ui" / "themes"))
DEFAULT_THEME = "stagetui-dark"
_FIELDS = {f.name for f in dataclasses.fields(Theme)}


class ThemeError(ValueError):
    pass


def load_theme(path: Path) -> Theme:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ThemeError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict) or "name" not in data or "primary" not in data:
        raise ThemeError(f"{path}: a theme needs at least `name` and `primary`")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ThemeError(f"{path}: unknown theme key(s) {', '.join(unknown)}")
    return Theme(**data)


def our_themes(directory: Path = THEMES_DIR) -> list[Theme]:
    return [load_theme(path) for path in sorted(directory.glob("*.yaml"))]


def available_theme_names(directory: Path = THEMES_DIR) -> list[str]:
    return [theme.name for theme in our_themes(directory)] + sorted(BUILTIN_THEMES)
