"""Tones to the current theme's colours, for widgets that draw Rich text (DataTable cells, tree labels)."""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color, ColorParseError

from stagetui.ui.view_models import Tone


def tone_style(app: App[object], tone: Tone) -> Style:
    if tone is Tone.NORMAL:
        return Style()
    if tone is Tone.MUTED:
        return Style(dim=True)  # the theme's muted text is relative ("auto 60%"), dim is its Rich equivalent
    return _colour_style(app.theme_variables.get(tone.value, ""))


@lru_cache(maxsize=256)
def _colour_style(colour: str) -> Style:
    """Keyed by the theme's colour text, so a theme switch gets new styles. Cached: a first paint of 2,000
    rows asks for 20,000 cells, and parsing a colour and building a Style each time was half of it."""
    try:
        return Style(color=Color.parse(colour).rich_color)
    except ColorParseError:
        return Style()


def toned(app: App[object], text: str, tone: Tone) -> Text:
    return Text(text, style=tone_style(app, tone), no_wrap=True, overflow="ellipsis")


def plain(text: str) -> Text:
    """`text` as it reads, for a DataTable cell: a string cell is parsed as markup, and names and errors
    typed by users (`[/]`, `[@click=...]`) would raise or turn into links."""
    return Text(text, end="")
