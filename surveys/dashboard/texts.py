"""The words of the instruments in the page's language: titles, domains, items, scale points.

Read from the newest published version of each instrument (older versions only add the
items they alone had), so a committee page names a domain as the questionnaire does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.instruments.definitions import numeric_items, text
from surveys.instruments.models import Instrument, InstrumentVersion


@dataclass
class InstrumentTexts:
    """One instrument's words in one language."""

    key: str
    title: str
    domains: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    #: item key → (scale key, scale_min, scale_max), in questionnaire order
    item_scales: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    #: scale key → label of each point from min to max ("" where the scale names none)
    scale_points: dict[str, list[str]] = field(default_factory=dict)


def instrument_texts(session: Session, language: str) -> dict[str, InstrumentTexts]:
    """Every instrument's words in ``language`` (English where a text lacks it), by key."""
    stmt = (
        select(Instrument.key, InstrumentVersion.definition)
        .join(InstrumentVersion, InstrumentVersion.instrument_id == Instrument.id)
        .order_by(Instrument.key, InstrumentVersion.version.desc())
    )
    result: dict[str, InstrumentTexts] = {}
    for key, definition in session.execute(stmt):
        texts = result.get(key)
        if texts is None:
            texts = result[key] = InstrumentTexts(key, text(definition.get("title"), language))
        _add_definition(texts, definition, language)
    return result


def _add_definition(texts: InstrumentTexts, definition: dict[str, Any], language: str) -> None:
    """Words of one version that a newer version did not already give."""
    for domain, labels in (definition.get("domains") or {}).items():
        texts.domains.setdefault(domain, text(labels, language))
    items = {item["key"]: item for section in definition["sections"] for item in section["items"]}
    for item in numeric_items(definition):
        key = item["key"]
        texts.items.setdefault(key, text(items[key].get("text"), language))
        texts.item_scales.setdefault(key, (item["scale"], item["scale_min"], item["scale_max"]))
    for scale_key, scale in (definition.get("scales") or {}).items():
        labels = scale.get("labels") or {}
        texts.scale_points.setdefault(
            scale_key,
            [
                text(labels.get(str(point)), language)
                for point in range(int(scale["min"]), int(scale["max"]) + 1)
            ],
        )
