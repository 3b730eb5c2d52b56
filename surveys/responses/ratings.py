"""Submitted answers flattened into the canonical ratings table (``docs`` / design.md).

One row per (submitted response, numeric item of the version it answered), with
pseudonymous ids only — never a name, an e-mail or free text. N/A, "cannot judge" and
unanswered items are rows with an empty score, so the analysis can count coverage.

The table is built with a few bulk SELECTs per chunk of responses (responses with their
codes and pseudonyms; the definitions of the versions answered; the numeric answers), never
one query per response, so a national year (~10^5 responses) streams in bounded memory.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from surveys.campaigns.models import Campaign, Invitation
from surveys.instruments.definitions import numeric_items
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import Employer, Graduate, Institution, Programme
from surveys.responses.models import Answer, Response, ResponseStatus
from surveys.spreadsheets import write_rows

#: The columns of the ratings table, in this order (the contract with ``analysis``).
RATINGS_COLUMNS = (
    "institution",
    "programme",
    "year",
    "instrument",
    "response_id",
    "subject_id",
    "rater_id",
    "domain",
    "item",
    "score",
    "scale_min",
    "scale_max",
)
#: Responses read per round trip (bounded memory, few queries).
CHUNK_SIZE = 5000


def _responses_query(
    year: int | Collection[int] | None,
    institution_id: int | None,
    instrument: str | None,
    programmes: Collection[str] | None = None,
) -> Select[Any]:
    query = (
        select(
            Response.id,
            Response.instrument_version_id,
            Response.public_id,
            Institution.code,
            Programme.code,
            Graduate.graduation_year,
            Instrument.key,
            Graduate.pseudonym,
            Employer.pseudonym,
        )
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .join(Programme, Programme.id == Graduate.programme_id)
        .join(Institution, Institution.id == Campaign.institution_id)
        .join(Employer, Employer.id == Invitation.employer_id)
        .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .where(Response.status == ResponseStatus.SUBMITTED)
    )
    if isinstance(year, int):
        query = query.where(Graduate.graduation_year == year)
    elif year is not None:
        query = query.where(Graduate.graduation_year.in_(sorted(year)))
    if programmes is not None:
        query = query.where(Programme.code.in_(list(programmes)))
    if institution_id is not None:
        query = query.where(Campaign.institution_id == institution_id)
    if instrument is not None:
        query = query.where(Instrument.key == instrument)
    return query


def _score(value: float | None) -> int | float | None:
    """Scores are stored as floats; whole numbers are given back as ints (``4``, not ``4.0``)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def iter_ratings(
    session: Session,
    *,
    year: int | Collection[int] | None,
    institution_id: int | None = None,
    instrument: str | None = None,
    programmes: Collection[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[tuple[Any, ...]]:
    """The ratings rows (tuples in :data:`RATINGS_COLUMNS` order) of cohort ``year``.

    Only SUBMITTED responses count. ``year`` is a cohort, several, or None for every
    cohort; ``institution_id``, ``instrument`` (a key) and ``programmes`` (codes) narrow the
    table. Rows come per response (in response order) and, within one, in the order of the
    items of the version that response answered, using that version's scales.
    """
    base = _responses_query(year, institution_id, instrument, programmes).order_by(Response.id)
    # Core execution on the session's connection: plain rows, no ORM row processing
    session.flush()  # what session.execute would do: pending changes count
    connection = session.connection()
    items_by_version: dict[int, list[tuple[str, str, int, int]]] = {}
    last_id = 0
    while True:
        chunk = connection.execute(base.where(Response.id > last_id).limit(chunk_size)).all()
        if not chunk:
            return
        last_id = chunk[-1][0]
        missing = {row[1] for row in chunk} - set(items_by_version)
        if missing:
            for version_id, definition in connection.execute(
                select(InstrumentVersion.id, InstrumentVersion.definition).where(
                    InstrumentVersion.id.in_(missing)
                )
            ):
                items_by_version[version_id] = [
                    (i["domain"], i["key"], i["scale_min"], i["scale_max"])
                    for i in numeric_items(definition)
                ]
        answers: dict[tuple[int, str], float | None] = {}
        for response_id, key, number in connection.execute(
            select(Answer.response_id, Answer.item_key, Answer.number).where(
                Answer.response_id.in_([row[0] for row in chunk]),
                Answer.number.is_not(None),
                Answer.not_applicable.is_(False),
            )
        ):
            answers[(response_id, key)] = number
        for (
            response_id,
            version_id,
            public_id,
            institution,
            programme,
            cohort,
            instrument_key,
            subject,
            rater,
        ) in chunk:
            for domain, key, low, high in items_by_version[version_id]:
                yield (
                    institution,
                    programme,
                    cohort,
                    instrument_key,
                    public_id,
                    subject,
                    rater,
                    domain,
                    key,
                    _score(answers.get((response_id, key))),
                    low,
                    high,
                )
        if len(chunk) < chunk_size:
            return


def build_ratings(
    session: Session,
    *,
    year: int | None,
    institution_id: int | None = None,
    instrument: str | None = None,
) -> list[dict[str, Any]]:
    """The ratings table of cohort ``year`` as a list of row dicts (see :func:`iter_ratings`)."""
    return [
        dict(zip(RATINGS_COLUMNS, row, strict=True))
        for row in iter_ratings(
            session, year=year, institution_id=institution_id, instrument=instrument
        )
    ]


def ratings_columns(
    session: Session,
    *,
    year: int | Collection[int] | None,
    institution_id: int | None = None,
    instrument: str | None = None,
    programmes: Collection[str] | None = None,
) -> dict[str, list[Any]]:
    """The same table as a mapping of column name → list (what ``analysis`` takes).

    Empty scores are ``None``. Cheaper than :func:`build_ratings` for large tables.
    """
    columns: dict[str, list[Any]] = {name: [] for name in RATINGS_COLUMNS}
    appenders = [columns[name].append for name in RATINGS_COLUMNS]
    for row in iter_ratings(
        session,
        year=year,
        institution_id=institution_id,
        instrument=instrument,
        programmes=programmes,
    ):
        for append, value in zip(appenders, row, strict=True):
            append(value)
    return columns


def write_ratings_csv(rows: Iterable[tuple[Any, ...]], stream: IO[str]) -> int:
    """Write the header and ``rows`` (tuples in column order) as CSV; returns the row count.

    UTF-8 without BOM is the caller's choice of ``stream``; empty scores are empty cells,
    and text cells that look like spreadsheet formulas are neutralised.
    """
    return write_rows(stream, RATINGS_COLUMNS, rows)
