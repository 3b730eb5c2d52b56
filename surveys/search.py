"""Searching lists: one way to fold text, one stored search column, one search condition.

A name typed as "иванов" must find "Иванов", and "o'g'li" must find "oʻgʻli". Neither
database does that by itself: SQLite's ``lower()``/``LIKE`` fold ASCII only, and
PostgreSQL's ``lower()`` depends on the cluster's locale (a ``C`` cluster folds ASCII only).
So the folding happens in Python, once, with :func:`fold`:

- every searchable model mixes in :class:`Searchable`: a ``search_text`` column holding the
  folded values of its ``__search_fields__``, one per line, written on every write path —
  ORM flushes (a mapper event below) and bulk imports (which call :func:`search_text_for`);
- a search folds the typed text the same way and looks for it, as a literal substring
  (``%``, ``_`` and ``\\`` match themselves), in those columns: :func:`search_condition`.

Columns that already hold folded text (e-mail addresses, stored lower-case) can be searched
the same way without a ``search_text``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Select, Text, event, false, or_
from sqlalchemy.orm import Mapped, mapped_column

#: Characters written for the Uzbek ʻ (oʻ, gʻ) and the apostrophe: all search as "'".
APOSTROPHES = "'`´ʹʻʼʽʾʿˈ‘’‚‛′"

_APOSTROPHE = re.compile("[" + re.escape(APOSTROPHES[1:]) + "]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")  #: NUL and the other C0 controls, DEL

#: Separates the fields in ``search_text``: a folded query never contains it.
FIELD_SEPARATOR = "\n"


def fold(text: Any) -> str:
    """``text`` as it is compared in a search: case-folded, apostrophes and spaces unified.

    Unicode case folding (Latin, Cyrillic — Uzbek and Russian —, any script), compatibility
    forms reduced (NFKC: full-width letters, ligatures), every apostrophe variant made
    ``'``, ``ё`` read as ``е`` (Russian writes both), control characters made spaces and
    runs of white space one space.

    >>> fold("  Oʻgʻli\\u00a0ИВАНОВ ")
    "o'g'li иванов"
    """
    if text is None:
        return ""
    value = _CONTROL.sub(" ", str(text))
    if not value.isascii():  # the slow steps, which ASCII text does not need
        # apostrophes first: NFKC would split ´ into a space and a combining accent
        value = unicodedata.normalize("NFKC", _APOSTROPHE.sub("'", value)).casefold()
        value = _APOSTROPHE.sub("'", value).replace("ё", "е")  # and what NFKC made (ʹ)
    else:
        value = value.lower().replace("`", "'")
    return " ".join(value.split())


def _values(value: Any) -> Iterable[Any]:
    """A field's searchable values: a mapping (names per language) gives each of its values."""
    if isinstance(value, Mapping):
        return value.values()
    return (value,)


def search_text_for(model: type[Searchable], values: Mapping[str, Any]) -> str:
    """The ``search_text`` of a ``model`` row whose fields are ``values`` (missing = empty)."""
    parts = []
    for name in model.__search_fields__:
        value = values.get(name)
        if value is None:  # most often an empty optional field: nothing to fold
            continue
        for each in _values(value) if isinstance(value, Mapping) else (value,):
            folded = fold(each)
            if folded:
                parts.append(folded)
    return FIELD_SEPARATOR.join(parts)


class Searchable:
    """Mixin of a model whose lists are searched: a folded copy of its searchable fields.

    Subclasses name the fields in ``__search_fields__``; ``search_text`` is computed from
    them whenever the ORM inserts or updates a row. Code that writes rows in bulk
    (``insert(Model)`` / ``update(Model)`` with dicts) must include
    ``search_text=search_text_for(Model, row)`` computed from the row's full values.
    """

    __search_fields__: ClassVar[tuple[str, ...]] = ()

    #: the searchable fields, folded (see ``surveys.search.fold``), one per line
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    def refresh_search_text(self) -> None:
        """Recompute ``search_text`` from the current field values."""
        self.search_text = search_text_for(
            type(self), {name: getattr(self, name) for name in self.__search_fields__}
        )


@event.listens_for(Searchable, "before_insert", propagate=True)
@event.listens_for(Searchable, "before_update", propagate=True)
def _keep_search_text(mapper: Any, connection: Any, target: Searchable) -> None:
    """ORM writes: ``search_text`` always follows the fields it is made of."""
    target.refresh_search_text()


def search_condition(query: str | None, *columns: Any) -> ColumnElement[bool] | None:
    """Rows where any of ``columns`` contains ``query`` (folded); None for an empty query.

    ``columns`` hold folded text: ``search_text`` columns, or values stored lower-case
    such as e-mail addresses. ``%``, ``_`` and ``\\`` in the query are literal.
    """
    needle = fold(query)
    if not needle:
        return None
    if not columns:
        return false()
    return or_(*(column.contains(needle, autoescape=True) for column in columns))


def apply_search(stmt: Select, query: str | None, *columns: Any) -> Select:
    """``stmt`` narrowed to the rows matching ``query`` (unchanged for an empty query)."""
    condition = search_condition(query, *columns)
    return stmt if condition is None else stmt.where(condition)
