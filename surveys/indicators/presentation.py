"""The web side of the presentation module: names from the database, the page's language.

Rounding, "< 5", pooled spans, flags and target words are :mod:`analysis.presentation`'s
(shared with ``hamkor indicators``); this module only supplies what the database knows —
programme names, instrument titles and domain labels in the reader's language — and passes
the language. Pages, reports and the API call :func:`present_records` or
:func:`present_record`; none formats a record on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import Indicator
from analysis.presentation import LANGUAGES, Display, present
from surveys.instruments.definitions import text
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import Programme

__all__ = ["LANGUAGES", "Display", "Names", "display_names", "present_record", "present_records"]


@dataclass(frozen=True)
class Names:
    """What the records' codes and keys are called, in one language."""

    lang: str
    programmes: dict[str, str] = field(default_factory=dict)  #: code → name
    instruments: dict[str, str] = field(default_factory=dict)  #: key → title
    domains: dict[str, dict[str, str]] = field(default_factory=dict)  #: instrument → key → label


def display_names(session: Session, institution_id: int, lang: str) -> Names:
    """Programme names of the institution and instrument titles / domain labels in ``lang``.

    Domain labels come from every published version (the newest wins), so a domain that a
    later version dropped keeps its name in earlier years' records.
    """
    programmes = dict(
        session.execute(
            select(Programme.code, Programme.name).where(Programme.institution_id == institution_id)
        ).all()
    )
    instruments: dict[str, str] = {}
    domains: dict[str, dict[str, str]] = {}
    rows = session.execute(
        select(Instrument.key, InstrumentVersion.definition)
        .join(InstrumentVersion, InstrumentVersion.instrument_id == Instrument.id)
        .order_by(Instrument.key, InstrumentVersion.version)
    )
    for key, definition in rows:
        instruments[key] = text(definition.get("title"), lang) or key
        labels = domains.setdefault(key, {})
        for domain, translations in (definition.get("domains") or {}).items():
            labels[domain] = text(translations, lang) or domain
    return Names(lang, programmes, instruments, domains)


def present_record(record: Indicator, names: Names, *, min_n: int) -> Display:
    """One record as the reader sees it (see :func:`analysis.presentation.present`)."""
    return present(
        record,
        names.lang,
        min_n=min_n,
        programme_names=names.programmes,
        domain_names=names.domains.get(record.instrument or "", {}),
        instrument_names=names.instruments,
    )


def present_records(
    records: Iterable[Indicator], names: Names, *, min_n: int
) -> list[tuple[Indicator, Display]]:
    """Each record with its display, in order."""
    return [(record, present_record(record, names, min_n=min_n)) for record in records]
