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

import numpy as np
from sqlalchemy import Connection, Select, case, select
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


def submitted_responses(
    year: int | Collection[int] | None,
    institution_id: int | None,
    instrument: str | None,
    programmes: Collection[str] | None = None,
) -> Select[Any]:
    """The submitted responses of a scope, with their codes and pseudonyms (no order).

    Columns, in this order: ``id``, ``version_id``, ``public_id``, ``institution``,
    ``programme``, ``year``, ``instrument``, ``subject_id`` (the graduate's pseudonym),
    ``rater_id`` (the employer's).
    """
    query = (
        select(
            Response.id,
            Response.instrument_version_id.label("version_id"),
            Response.public_id,
            Institution.code.label("institution"),
            Programme.code.label("programme"),
            Graduate.graduation_year.label("year"),
            Instrument.key.label("instrument"),
            Graduate.pseudonym.label("subject_id"),
            Employer.pseudonym.label("rater_id"),
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
    base = submitted_responses(year, institution_id, instrument, programmes).order_by(Response.id)
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


def _array(connection: Connection, statement: Select[Any], dtype: Any) -> np.ndarray:
    """The rows of ``statement`` as a NumPy structured array, read from the DBAPI cursor.

    SQLAlchemy still compiles the statement and binds its parameters; only the result rows
    skip its Row objects, which cost twice the fetch itself on a million rows.
    """
    parts = []
    with connection.execute(statement) as result:
        while rows := result.cursor.fetchmany(100_000):  # bounded memory, C-speed batches
            parts.append(np.fromiter(rows, dtype=dtype, count=len(rows)))
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def ratings_columns(
    session: Session,
    *,
    year: int | Collection[int] | None,
    institution_id: int | None = None,
    instrument: str | None = None,
    programmes: Collection[str] | None = None,
) -> dict[str, Any]:
    """The same table as :func:`iter_ratings`, as columns (what ``analysis`` takes, fast).

    Text columns are pandas categoricals (``analysis`` reads their codes, never the strings),
    ``year``, ``scale_min`` and ``scale_max`` integer arrays, ``score`` a float array with NaN
    for an empty score. Built with two queries (the responses, then their numeric answers) and
    array operations, not a Python tuple per rating: a million ratings in about a second.
    The rows are in :func:`iter_ratings`' order.
    """
    import pandas as pd  # imported here: half a second that only this table needs

    session.flush()  # what session.execute would do: pending changes count
    connection = session.connection()
    scoped = submitted_responses(year, institution_id, instrument, programmes)
    responses = connection.execute(scoped.order_by(Response.id)).all()
    if not responses:
        return {name: [] for name in RATINGS_COLUMNS}
    (ids, version_ids, public_ids, institutions, programme_codes, cohorts, instruments,
     subjects, raters) = zip(*responses, strict=True)  # fmt: skip
    response_ids = np.asarray(ids, dtype=np.int64)
    version_code, versions = pd.factorize(np.asarray(version_ids, dtype=np.int64))
    items: list[tuple[str, str, int, int]] = []  # (domain, key, scale_min, scale_max), distinct
    item_code: dict[tuple[str, str, int, int], int] = {}
    keys: dict[str, int] = {}
    per_version: list[tuple[int, list[int]]] = []  # (version code, item codes in order)
    for version_id, definition in connection.execute(
        select(InstrumentVersion.id, InstrumentVersion.definition).where(
            InstrumentVersion.id.in_([int(v) for v in versions])
        )
    ).all():
        codes = []
        for i in numeric_items(definition):
            item = (i["domain"], i["key"], i["scale_min"], i["scale_max"])
            codes.append(item_code.setdefault(item, len(items)))
            if codes[-1] == len(items):
                items.append(item)
            keys.setdefault(i["key"], len(keys))
        per_version.append((int(np.flatnonzero(versions == version_id)[0]), codes))
    width = max((len(codes) for _, codes in per_version), default=0)
    # item of each (version, position) and position of each (version, key); -1 where none
    item_at = np.full((len(versions), max(width, 1)), -1, dtype=np.int64)
    position_of = np.full((len(versions), max(len(keys), 1)), -1, dtype=np.int64)
    for v, codes in per_version:
        item_at[v, : len(codes)] = codes
        for position, code in enumerate(codes):
            position_of[v, keys[items[code][1]]] = position
    count = (item_at >= 0).sum(axis=1)[version_code]
    start = np.r_[0, np.cumsum(count)[:-1]]
    total = int(count.sum())
    row_response = np.repeat(np.arange(len(responses)), count)
    row_position = np.arange(total) - start[row_response]
    row_item = item_at[version_code[row_response], row_position]

    score = np.full(total, np.nan)
    answers = _array(
        connection,
        select(
            Answer.response_id,
            case(keys, value=Answer.item_key, else_=-1),
            Answer.number,
        ).where(
            Answer.response_id.in_(scoped.with_only_columns(Response.id).scalar_subquery()),
            Answer.number.is_not(None),
            Answer.not_applicable.is_(False),
        ),
        [("response", np.int64), ("key", np.int64), ("number", np.float64)],
    )
    if len(answers):
        owner = np.searchsorted(response_ids, answers["response"])
        key_code = answers["key"]
        position = np.where(key_code >= 0, position_of[version_code[owner], key_code], -1)
        known = position >= 0  # an answer to an item that is not a numeric item: not a rating
        score[start[owner[known]] + position[known]] = answers["number"][known]

    def per_response(values: tuple[Any, ...]) -> Any:
        codes, labels = pd.factorize(np.asarray(values, dtype=object))
        return pd.Series(pd.Categorical.from_codes(codes[row_response], labels))

    def per_item(field: int) -> Any:
        codes, labels = pd.factorize(np.asarray([item[field] for item in items], dtype=object))
        return pd.Series(pd.Categorical.from_codes(codes[row_item], labels))

    bounds = np.asarray([item[2:] for item in items], dtype=np.int64).reshape(-1, 2)
    return {
        "institution": per_response(institutions),
        "programme": per_response(programme_codes),
        "year": np.asarray(cohorts, dtype=np.int64)[row_response],
        "instrument": per_response(instruments),
        "response_id": per_response(public_ids),
        "subject_id": per_response(subjects),
        "rater_id": per_response(raters),
        "domain": per_item(0),
        "item": per_item(1),
        "score": score,
        "scale_min": bounds[row_item, 0],
        "scale_max": bounds[row_item, 1],
    }


def write_ratings_csv(rows: Iterable[tuple[Any, ...]], stream: IO[str]) -> int:
    """Write the header and ``rows`` (tuples in column order) as CSV; returns the row count.

    UTF-8 without BOM is the caller's choice of ``stream``; empty scores are empty cells,
    and text cells that look like spreadsheet formulas are neutralised.
    """
    return write_rows(stream, RATINGS_COLUMNS, rows)
