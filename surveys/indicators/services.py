"""Computing an institution's indicators once per version, storing and reading them.

:func:`get_indicators` is what every reader calls (pages, reports, the API, the CLI). It
looks for the records stored for the institution's current key — (settings version, data
version, as-of day) — and computes and stores them when there are none, so the first reader
after a change pays for the computation and the others read stored rows:

- the **settings version** changes when the institution's settings are saved
  (:mod:`surveys.indicators.settings`);
- the **data version** changes with every submitted response, campaign change or registry
  import (:func:`surveys.datachanges.data_changed`, called in the same transaction);
- the **as-of day** is today in ``HAMKOR_TIMEZONE``: the outcomes depend on the date
  (retention is known once 12 months have passed), so a new day is a new key.

The computation always covers the whole institution (every year, programme and instrument:
changes from last year, three-year pools and the institution-wide ``*`` rows need them), and
readers filter the stored records by year and programme.

Concurrency: on PostgreSQL a computation takes a transaction-level advisory lock per
institution, so when many readers arrive after a change one computes while the others wait
and then read its rows; the unique key of ``indicator_computations`` (insert … on conflict do
nothing) guarantees one stored computation per key on any backend. Older computations of the
institution are deleted when a newer one is stored.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from analysis import Indicator, compute_indicators
from surveys.datachanges import data_version
from surveys.indicators.inputs import build_invited, build_outcomes, build_ratings
from surveys.indicators.models import IndicatorComputation, IndicatorRecord
from surveys.indicators.settings import Settings, current_settings
from surveys.registry.models import Institution

#: First key of the PostgreSQL advisory lock taken while computing (the second is the
#: institution id): "HMKI" in ASCII, so it cannot collide with another feature's locks.
ADVISORY_LOCK_CLASS = 0x484D4B49 - 2**31

_RECORD_COLUMNS = (
    "programme",
    "year",
    "instrument",
    "indicator",
    "domain",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "method",
    "flags",
    "suppressed",
    "target",
    "target_status",
    "p_value",
    "p_adjusted",
    "effect_size",
)


def local_today() -> dt.date:
    """Today in ``HAMKOR_TIMEZONE`` (the day outcomes are computed as of)."""
    zone_name = current_app.config.get("HAMKOR_TIMEZONE", "UTC") if has_app_context() else "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.now(zone).date()


@dataclass(frozen=True)
class IndicatorInputs:
    """The three inputs of :func:`analysis.compute_indicators`, as columns."""

    ratings: dict[str, list[Any]]
    invited: dict[str, list[Any]]
    outcomes: dict[str, list[Any]]

    @property
    def has_ratings(self) -> bool:
        return len(self.ratings["response_id"]) > 0


def build_inputs(
    session: Session,
    institution_id: int,
    *,
    as_of: dt.date,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
) -> IndicatorInputs:
    """Ratings, invited and outcomes of a scope (see :mod:`surveys.indicators.inputs`)."""
    scope: dict[str, Any] = {"years": years, "programmes": programmes}
    return IndicatorInputs(
        ratings=build_ratings(session, institution_id, **scope),
        invited=build_invited(session, institution_id, **scope),
        outcomes=build_outcomes(session, institution_id, as_of=as_of, **scope),
    )


def compute_records(
    session: Session, institution_id: int, settings: Settings, *, as_of: dt.date
) -> list[Indicator]:
    """A fresh computation of the whole institution (nothing stored); [] without responses."""
    inputs = build_inputs(session, institution_id, as_of=as_of)
    if not inputs.has_ratings:
        return []
    return compute_indicators(
        inputs.ratings,
        invited=inputs.invited if inputs.invited["invited"] else None,
        outcomes=inputs.outcomes if inputs.outcomes["subject_id"] else None,
        **settings.compute_options(),
    )


@dataclass(frozen=True)
class IndicatorSet:
    """Stored indicator records of one institution, as read for one scope.

    ``records`` are :class:`analysis.Indicator` objects in ``compute_indicators``' order;
    ``settings`` are the ones they were computed with (``settings.min_n`` is the "< 5").
    """

    institution_id: int
    institution_code: str
    settings: Settings
    data_version: int
    as_of: dt.date
    computed_at: dt.datetime
    records: list[Indicator]

    @property
    def min_n(self) -> int:
        return self.settings.min_n


def _find(
    session: Session, institution_id: int, settings: Settings, version: int, as_of: dt.date
) -> IndicatorComputation | None:
    return session.scalars(
        select(IndicatorComputation).where(
            IndicatorComputation.institution_id == institution_id,
            IndicatorComputation.settings_version == settings.version,
            IndicatorComputation.data_version == version,
            IndicatorComputation.as_of == as_of,
        )
    ).first()


def _lock(session: Session, institution_id: int) -> None:
    """Serialise computations of one institution (PostgreSQL; SQLite serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :id)"),
            {"cls": ADVISORY_LOCK_CLASS, "id": institution_id},
        )


_values = attrgetter(*_RECORD_COLUMNS)
_FLAGS = _RECORD_COLUMNS.index("flags")


def _stored_values(record: Indicator) -> tuple[Any, ...]:
    """A record's values in :data:`_RECORD_COLUMNS` order, its flags comma-separated."""
    values = _values(record)
    return (*values[:_FLAGS], ",".join(values[_FLAGS]), *values[_FLAGS + 1 :])


def _insert_records(session: Session, computation_id: int, records: list[Indicator]) -> None:
    """Insert the records of a computation (tens of thousands for a large institution).

    PostgreSQL takes them through COPY on the session's own connection (same transaction):
    an executemany of 45,000 rows costs a second there, COPY a tenth of it. Elsewhere a Core
    executemany, which the driver batches.
    """
    columns = ("computation_id", "position", *_RECORD_COLUMNS)
    rows = (
        (computation_id, position, *_stored_values(record))
        for position, record in enumerate(records)
    )
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.cursor()
        try:
            names = ", ".join(columns)
            with cursor.copy(f"COPY indicator_records ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    table_insert = insert(IndicatorRecord.__table__)
    while chunk := [dict(zip(columns, row, strict=True)) for row in islice(rows, 5000)]:
        session.execute(table_insert, chunk)


def _store(
    session: Session,
    institution: Institution,
    settings: Settings,
    version: int,
    as_of: dt.date,
    records: list[Indicator],
    seconds: float,
) -> IndicatorComputation:
    """Insert the computation once per key, its records with it; prune older computations."""
    table = IndicatorComputation.__table__
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        module.insert(table)
        .values(
            institution_id=institution.id,
            settings_version=settings.version,
            data_version=version,
            as_of=as_of,
            institution_code=institution.code,
            confidence_level=settings.confidence_level,
            computed_at=dt.datetime.now(dt.UTC),
            seconds=seconds,
            record_count=len(records),
        )
        .on_conflict_do_nothing(
            index_elements=["institution_id", "settings_version", "data_version", "as_of"]
        )
        .returning(table.c.id)
    )
    new_id = session.execute(stmt).scalar()
    if new_id is not None:
        _insert_records(session, new_id, records)
        older = select(IndicatorComputation.id).where(
            IndicatorComputation.institution_id == institution.id,
            IndicatorComputation.id != new_id,
            IndicatorComputation.settings_version <= settings.version,
            IndicatorComputation.data_version <= version,
            IndicatorComputation.as_of <= as_of,
        )
        old_ids = list(session.scalars(older))
        if old_ids:
            session.execute(
                delete(IndicatorRecord).where(IndicatorRecord.computation_id.in_(old_ids))
            )
            session.execute(
                delete(IndicatorComputation).where(IndicatorComputation.id.in_(old_ids))
            )
    session.flush()
    found = _find(session, institution.id, settings, version, as_of)
    assert found is not None  # inserted now, or by the worker that held the lock
    return found


def ensure_computed(
    session: Session, institution_id: int, *, as_of: dt.date | None = None
) -> tuple[IndicatorComputation, Settings]:
    """The stored computation of the institution's current key (computed now if missing),
    and the settings it was computed with.

    Flushes; the caller's transaction commits it (a page's request, a command, a job).
    Raises :class:`LookupError` for an unknown institution.
    """
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise LookupError(f"no institution with id {institution_id}")
    as_of = as_of or local_today()
    # the versions are read before any input: records stored under a version then hold at
    # least that version's data (a change committing meanwhile bumps the version again)
    settings = current_settings(session, institution_id)
    version = data_version(session, institution_id)
    stored = _find(session, institution_id, settings, version, as_of)
    if stored is not None:
        return stored, settings
    _lock(session, institution_id)
    stored = _find(session, institution_id, settings, version, as_of)  # computed meanwhile?
    if stored is not None:
        return stored, settings
    started = time.perf_counter()
    records = compute_records(session, institution_id, settings, as_of=as_of)
    seconds = time.perf_counter() - started
    return _store(session, institution, settings, version, as_of, records, seconds), settings


def get_indicators(
    session: Session,
    institution_id: int,
    *,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
    indicators: Collection[str] | None = None,
    as_of: dt.date | None = None,
) -> IndicatorSet:
    """The institution's indicator records, never older than its data and settings.

    ``years`` (a year or several), ``programmes`` (codes; ``"*"`` is the institution as a
    whole) and ``indicators`` (names such as ``domain_score``) narrow the records read; None
    reads all. Pooled records belong to their last year
    (a record of 2024 pooled over 2022–2024 has ``year == 2024``).
    """
    computation, settings = ensure_computed(session, institution_id, as_of=as_of)
    query = select(*(getattr(IndicatorRecord, c) for c in _RECORD_COLUMNS)).where(
        IndicatorRecord.computation_id == computation.id
    )
    if years is not None:
        wanted = [years] if isinstance(years, int) else sorted(set(years))
        query = query.where(IndicatorRecord.year.in_(wanted))
    if programmes is not None:
        query = query.where(IndicatorRecord.programme.in_(sorted(set(programmes))))
    if indicators is not None:
        query = query.where(IndicatorRecord.indicator.in_(sorted(set(indicators))))
    query = query.order_by(IndicatorRecord.position)
    code, level = computation.institution_code, computation.confidence_level
    records = [_indicator(code, level, row) for row in session.execute(query)]
    return IndicatorSet(
        institution_id=institution_id,
        institution_code=code,
        settings=settings,
        data_version=computation.data_version,
        as_of=computation.as_of,
        computed_at=computation.computed_at,
        records=records,
    )


def _indicator(institution: str, level: float, row: Any) -> Indicator:
    values = dict(zip(_RECORD_COLUMNS, row, strict=True))
    values["flags"] = tuple(f for f in values["flags"].split(",") if f)
    return Indicator(institution=institution, confidence_level=level, **values)
