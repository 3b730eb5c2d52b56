"""The questionnaire's own words for the answer distributions: item texts and scale points.

Instrument titles and domain labels come from :func:`surveys.indicators.presentation.
display_names`; this module adds what only the answer distributions need, read from the
newest published version of each instrument (older versions only add the items they alone
had).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.instruments.definitions import numeric_items, text
from surveys.instruments.models import Instrument, InstrumentVersion


@dataclass
class ItemTexts:
    """One instrument's items and scale points in one language."""

    key: str
    items: dict[str, str] = field(default_factory=dict)
    #: item key → (scale key, scale_min, scale_max), in questionnaire order
    item_scales: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    #: scale key → label of each point from min to max ("" where the scale names none)
    scale_points: dict[str, list[str]] = field(default_factory=dict)


def item_texts(session: Session, language: str) -> dict[str, ItemTexts]:
    """Every instrument's item texts and scale labels in ``language``, by instrument key."""
    stmt = (
        select(Instrument.key, InstrumentVersion.definition)
        .join(InstrumentVersion, InstrumentVersion.instrument_id == Instrument.id)
        .order_by(Instrument.key, InstrumentVersion.version.desc())
    )
    result: dict[str, ItemTexts] = {}
    for key, definition in session.execute(stmt):
        _add_definition(result.setdefault(key, ItemTexts(key)), definition, language)
    return result


def _add_definition(texts: ItemTexts, definition: dict[str, Any], language: str) -> None:
    """Words of one version that a newer version did not already give."""
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
