"""The responses of a report's scope as an SPSS ``.sav`` file (pyreadstat), labelled.

One row per submitted response of the year, one variable per numeric item of the
instruments answered: the variable label is the item's text, the value labels are the
scale's point labels, and "not applicable / cannot judge" is the value :data:`NOT_APPLICABLE`,
declared user-missing, so SPSS, PSPP and R (haven) leave it out of statistics while keeping
it apart from an item left unanswered (system-missing). Identifiers are the pseudonyms of the
ratings table (response, graduate, employer): no name, e-mail, student or tax number, and
no free-text answer (it may name people) ever goes into the file. Response-level data is
the institution's own: committee members receive aggregated reports only.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from collections import defaultdict
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.dashboard.texts import item_texts
from surveys.instruments.definitions import numeric_items
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import Programme
from surveys.reports.services import ReportContent
from surveys.responses.models import Answer, Response
from surveys.responses.ratings import submitted_responses
from surveys.spreadsheets import neutralise_formula

#: The code of "not applicable / cannot judge": below every scale (scales start at 0 or 1).
NOT_APPLICABLE = -9
#: SPSS's reserved words, which no variable may be called.
_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}


#: Longest variable label and value label SPSS keeps, in bytes (UTF-8).
LABEL_BYTES, VALUE_LABEL_BYTES = 256, 120


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (never inside a character), formula-neutralised."""
    data = neutralise_formula(text).encode("utf-8")
    if len(data) <= limit:
        return data.decode("utf-8")
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def variable_name(text: str, taken: set[str]) -> str:
    """A valid, unique SPSS variable name for ``text`` (letters, digits, ``_``; ≤ 64 bytes,
    starting with a letter; never a reserved word)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text) or "v"
    if not name[0].isalpha() or name.upper() in _RESERVED:
        name = "v_" + name
    name = name[:64]
    candidate, number = name, 2
    while candidate.casefold() in taken:
        suffix = f"_{number}"
        candidate, number = name[: 64 - len(suffix)] + suffix, number + 1
    taken.add(candidate.casefold())
    return candidate


def responses_sav(session: Session, content: ReportContent) -> bytes:
    """The ``.sav`` file of the scope's submitted responses of the year."""
    import pandas as pd
    import pyreadstat

    scope = content.scope
    lang = scope.lang
    rows = session.execute(
        submitted_responses(scope.year, scope.institution.id, None, scope.programme_codes).order_by(
            Programme.code, Instrument.key, Response.id
        )
    ).all()
    # the numeric items of the versions answered, in questionnaire order, per instrument
    items: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    versions = {row.version_id: row.instrument for row in rows}
    for version_id, definition in session.execute(
        select(InstrumentVersion.id, InstrumentVersion.definition)
        .where(InstrumentVersion.id.in_(list(versions)))
        .order_by(InstrumentVersion.version.desc())
    ):
        for item in numeric_items(definition):
            items[versions[version_id]].setdefault(
                item["key"], (item["scale_min"], item["scale_max"])
            )
    answers: dict[tuple[int, str], float | None] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 5000):
        for response_id, key, number, na in session.execute(
            select(Answer.response_id, Answer.item_key, Answer.number, Answer.not_applicable).where(
                Answer.response_id.in_(ids[start : start + 5000])
            )
        ):
            if na:
                answers[(response_id, key)] = NOT_APPLICABLE
            elif number is not None:
                answers[(response_id, key)] = float(number)

    words = item_texts(session, lang)
    taken: set[str] = set()
    columns: dict[str, list[Any]] = {}
    labels: dict[str, str] = {}
    for name, label in (
        ("response_id", _("Response (pseudonym)")),
        ("subject_id", _("Graduate (pseudonym)")),
        ("rater_id", _("Employer (pseudonym)")),
        ("programme", _("Programme code")),
        ("year", _("Graduation year")),
        ("instrument", _("Instrument")),
    ):
        taken.add(name)
        labels[name] = label
    columns["response_id"] = [row.public_id for row in rows]
    columns["subject_id"] = [row.subject_id for row in rows]
    columns["rater_id"] = [row.rater_id for row in rows]
    columns["programme"] = [neutralise_formula(row.programme) for row in rows]
    columns["year"] = [float(row.year) for row in rows]
    columns["instrument"] = [neutralise_formula(row.instrument) for row in rows]
    value_labels: dict[str, dict[float, str]] = {}
    missing: dict[str, list[float]] = {}
    measure: dict[str, str] = {"response_id": "nominal", "programme": "nominal"}
    formats: dict[str, str] = {"year": "F4.0"}
    several = len(items) > 1
    not_applicable = _("Not applicable / cannot judge")
    for instrument in sorted(items):
        texts = words.get(instrument)
        for key, (low, high) in items[instrument].items():
            name = variable_name(f"{instrument}_{key}" if several else key, taken)
            labels[name] = fit((texts.items.get(key) if texts else None) or key, LABEL_BYTES)
            columns[name] = [
                answers.get((row.id, key), float("nan"))
                if row.instrument == instrument
                else float("nan")
                for row in rows
            ]
            points = []
            if texts and key in texts.item_scales:
                points = texts.scale_points.get(texts.item_scales[key][0], [])
            value_labels[name] = {
                float(low + i): fit(label, VALUE_LABEL_BYTES)
                for i, label in enumerate(points)
                if label
            } | {float(NOT_APPLICABLE): fit(not_applicable, VALUE_LABEL_BYTES)}
            missing[name] = [float(NOT_APPLICABLE)]
            measure[name] = "ordinal" if high - low < 10 else "scale"
            formats[name] = "F8.0"
    frame = pd.DataFrame(columns)
    handle, path = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    try:
        pyreadstat.write_sav(
            frame,
            path,
            file_label=f"Hamkor {scope.institution.code} {scope.year}"[:64],
            column_labels=labels,
            variable_value_labels=value_labels,
            missing_ranges=missing,
            variable_measure=measure,
            variable_format=formats,
            # SPSS keeps notes as lines of 80 bytes (Cyrillic letters take two)
            note=textwrap.wrap(
                _(
                    "One row per submitted response; pseudonymous identifiers only. %(code)s = "
                    "not applicable / cannot judge (user-missing); empty = not answered.",
                    code=NOT_APPLICABLE,
                ),
                38,
            ),
        )
        with open(path, "rb") as stream:
            return stream.read()
    finally:
        os.unlink(path)
