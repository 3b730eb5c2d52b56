"""The methodology page: ``docs/methodology.md`` (one source of truth), rendered and sanitised.

The Markdown is rendered once per process and language with markdown-it-py (CommonMark and
tables) and cleaned with nh3 (Ammonia's allow-list), so the page can never carry a script
even if the document did. ``docs/methodology.<lang>.md`` is used where it exists; otherwise
the English text is shown and the page says so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

#: The document in the wheel (``surveys/docs``) or in a source checkout (``docs``).
_LOCATIONS = (
    Path(__file__).resolve().parent.parent / "docs",
    Path(__file__).resolve().parent.parent.parent / "docs",
)


@dataclass(frozen=True)
class Document:
    html: Markup
    language: str  #: the language the text is in


def _source(language: str) -> tuple[str, str]:
    for name, lang in ((f"methodology.{language}.md", language), ("methodology.md", "en")):
        for folder in _LOCATIONS:
            path = folder / name
            if path.is_file():
                return path.read_text(encoding="utf-8"), lang
    raise FileNotFoundError("docs/methodology.md is missing from this installation")


def markdown_text(language: str) -> tuple[str, str]:
    """The methodology's Markdown in ``language`` and the language it is in (English when
    there is no translation), for files that carry text, not HTML (a spreadsheet's sheet)."""
    return _source(language)


@functools.cache
def rendered(language: str) -> Document:
    """The methodology in ``language`` (English when there is no translation), as safe HTML."""
    import nh3
    from markdown_it import MarkdownIt

    text, lang = _source(language)
    # raw HTML in the Markdown stays text; nh3 then removes anything unsafe that remains
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    clean = nh3.clean(html, tags=nh3.ALLOWED_TAGS - {"img"}, link_rel="noopener noreferrer")
    return Document(Markup(clean), lang)  # noqa: S704  (sanitised by nh3 just above)
