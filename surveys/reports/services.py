"""What a report may cover, what goes into it, and building its file.

:func:`check_request` turns a request (year, institution, programme, format, language) into
a :class:`ReportScope` the reader may see, or raises :class:`ReportProblem` naming the field
that is wrong and why (the page shows it beside the field, the command line after the
option). :func:`gather` reads the scope's indicator records from the indicator service and
their display texts from the presentation module; :func:`build_report` writes the file.
Services take a session and never commit (reading the records may store a computation the
caller's transaction then commits).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from analysis import Indicator
from analysis.presentation import LANGUAGES, Display
from surveys.auth.models import User
from surveys.dashboard.scope import (
    OutOfScope,
    ReaderScope,
    institution_for_reader,
    readable_programmes,
    scope_of,
)
from surveys.indicators.presentation import Names, display_names, present_records
from surveys.indicators.services import get_indicators
from surveys.indicators.settings import Settings
from surveys.registry.models import Institution, Programme

#: ``progress(done, total, message)``: how far a build is (a job's progress bar).
Progress = Callable[[int, int, str], None]


@dataclasses.dataclass(frozen=True)
class ReportFormat:
    key: str
    label: Any  #: a lazy string
    extension: str
    content_type: str
    #: False: response-level data, never offered to a committee (aggregated reports only)
    aggregated: bool = True


FORMATS: dict[str, ReportFormat] = {
    f.key: f
    for f in (
        ReportFormat("pdf", _l("PDF document"), "pdf", "application/pdf"),
        ReportFormat(
            "xlsx",
            _l("Excel workbook (XLSX)"),
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ReportFormat("csv", _l("Indicator records (CSV)"), "csv", "text/csv; charset=utf-8"),
        ReportFormat(
            "sav",
            _l("Responses for SPSS, PSPP or R (SAV)"),
            "sav",
            "application/x-spss-sav",
            aggregated=False,
        ),
    )
}

LANGUAGE_NAMES = {"uz": "Oʻzbekcha", "ru": "Русский", "en": "English"}


class ReportProblem(Exception):
    """A request that cannot be built; ``field`` is the option or form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class ReportScope:
    """One report's reach: an institution's programmes, a graduation year, format, language.

    ``whole``: the institution-wide rows (programme ``*``) are included (the reader may read
    the institution as a whole and asked for no single programme); ``committee``: the
    reader is a committee member, so the report holds aggregated data only.
    """

    institution: Institution
    programmes: tuple[Programme, ...]
    whole: bool
    committee: bool
    year: int
    fmt: str
    lang: str

    @property
    def programme_codes(self) -> list[str]:
        return [p.code for p in self.programmes]

    @property
    def key(self) -> str:
        """What the report covers, as text: ``TDTU`` or ``TDTU/CHEM+MECH`` (a newer report
        of the same key, year, format and language replaces a kept one)."""
        if self.whole:
            return self.institution.code
        return f"{self.institution.code}/{'+'.join(sorted(self.programme_codes))}"

    @property
    def filename(self) -> str:
        """``hamkor-TDTU-2025-en.pdf``; a programme report names its programme."""
        part = "" if self.whole else "-" + "-".join(sorted(self.programme_codes))
        name = f"hamkor-{self.institution.code}{part}-{self.year}-{self.lang}"
        return f"{name}.{FORMATS[self.fmt].extension}"

    def params(self) -> dict[str, Any]:
        """The scope as a job's parameters (plain values: the job may run on another host)."""
        return {
            "institution_id": self.institution.id,
            "programmes": None if self.whole else sorted(self.programme_codes),
            "committee": self.committee,
            "year": self.year,
            "format": self.fmt,
            "lang": self.lang,
            "key": self.key,
        }


def check_request(
    session: Session,
    reader: User | ReaderScope,
    *,
    year: int | None,
    fmt: str,
    lang: str,
    institution_code: str | None = None,
    programme_code: str | None = None,
) -> ReportScope:
    """The scope of a report ``reader`` asked for; raises :class:`ReportProblem`.

    ``institution_code`` None: the reader's first institution (staff: their own).
    ``programme_code`` narrows the report to one programme. The year must have indicator
    records in the scope. A committee member gets only aggregated formats.
    """
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise ReportProblem(
            "format",
            _(
                "Unknown format %(value)s: choose one of %(choices)s.",
                value=repr(fmt),
                choices=", ".join(FORMATS),
            ),
        )
    if lang not in LANGUAGES:
        raise ReportProblem(
            "lang",
            _(
                "Unknown language %(value)s: choose one of %(choices)s.",
                value=repr(lang),
                choices=", ".join(LANGUAGES),
            ),
        )
    scope = scope_of(session, reader)
    try:
        institution = institution_for_reader(session, scope, institution_code)
    except LookupError:
        raise ReportProblem(
            "institution", _("No institution has the code %(code)s.", code=institution_code)
        ) from None
    except OutOfScope:
        raise ReportProblem(
            "institution",
            _("Institution %(code)s is not one you may read.", code=institution_code),
        ) from None
    if institution is None:
        raise ReportProblem("institution", _("You may read no institution's indicators."))
    readable = readable_programmes(session, scope, institution.id)
    whole = scope.sees_whole(institution.id)
    if programme_code:
        chosen = [p for p in readable if p.code.casefold() == programme_code.strip().casefold()]
        if not chosen:
            raise ReportProblem(
                "programme",
                _(
                    "Institution %(institution)s has no programme %(code)s that you may read.",
                    institution=institution.code,
                    code=programme_code,
                ),
            )
        readable, whole = chosen, False
    if not readable:
        raise ReportProblem(
            "institution", _("Institution %(code)s has no programme yet.", code=institution.code)
        )
    if scope.is_committee and not FORMATS[fmt].aggregated:
        raise ReportProblem(
            "format",
            _(
                "%(format)s holds one row per response; committee members receive aggregated "
                "reports only (PDF, XLSX, CSV).",
                format=str(FORMATS[fmt].label),
            ),
        )
    found = get_indicators(
        session, institution.id, programmes=None if whole else [p.code for p in readable]
    )
    years = sorted({r.year for r in found.records}, reverse=True)
    if year not in years:
        raise ReportProblem(
            "year",
            _(
                "There is no data for graduation year %(year)s. Years with data: %(years)s.",
                year=year if year is not None else "—",
                years=", ".join(str(y) for y in years) or "—",
            ),
        )
    return ReportScope(
        institution=institution,
        programmes=tuple(readable),
        whole=whole,
        committee=scope.is_committee,
        year=year,
        fmt=fmt,
        lang=lang,
    )


def scope_from_params(session: Session, params: dict[str, Any]) -> ReportScope:
    """The scope a job was given (:meth:`ReportScope.params`), checked again: programmes
    deleted meanwhile are left out. Raises ``LookupError`` when the institution is gone."""
    institution = session.get(Institution, params["institution_id"])
    if institution is None:
        raise LookupError(params["institution_id"])
    wanted = params.get("programmes")
    programmes = [
        p
        for p in sorted(institution.programmes, key=lambda p: p.code)
        if wanted is None or p.code in wanted
    ]
    return ReportScope(
        institution=institution,
        programmes=tuple(programmes),
        whole=wanted is None,
        committee=bool(params.get("committee")),
        year=int(params["year"]),
        fmt=params["format"],
        lang=params["lang"],
    )


def reader_for(scope: ReportScope) -> ReaderScope:
    """What the dashboard's services may show for this report (they check scopes again)."""
    from surveys.auth.models import Role

    role = Role.COMMITTEE if scope.committee else Role.ADMIN
    institution = frozenset({scope.institution.id})
    return ReaderScope(
        role,
        institution,
        frozenset(p.id for p in scope.programmes),
        institution if scope.whole else frozenset(),
    )


# --------------------------------------------------------------------------------------------
# The records


@dataclasses.dataclass(frozen=True)
class ReportContent:
    """The scope's indicator records of the year, each with its display, and their names."""

    scope: ReportScope
    records: list[tuple[Indicator, Display]]
    names: Names
    settings: Settings
    data_version: int
    computed_at: dt.datetime
    built_at: dt.datetime

    @property
    def min_n(self) -> int:
        return self.settings.min_n

    def instruments(self) -> list[tuple[str, str]]:
        """(key, title) of the instruments answered in the scope's year."""
        keys = sorted({r.instrument for r, _d in self.records if r.instrument})
        return [(k, self.names.instruments.get(k, k)) for k in keys]

    def of_programme(self, code: str) -> list[tuple[Indicator, Display]]:
        return [(r, d) for r, d in self.records if r.programme == code]


def gather(session: Session, scope: ReportScope) -> ReportContent:
    """The records of the report, as the indicator service stored them, with their texts."""
    codes = None if scope.whole else scope.programme_codes
    found = get_indicators(session, scope.institution.id, years=[scope.year], programmes=codes)
    names = display_names(session, scope.institution.id, scope.lang)
    return ReportContent(
        scope=scope,
        records=present_records(found.records, names, min_n=found.min_n),
        names=names,
        settings=found.settings,
        data_version=found.data_version,
        computed_at=found.computed_at,
        built_at=dt.datetime.now(dt.UTC),
    )


@dataclasses.dataclass(frozen=True)
class BuiltReport:
    filename: str
    content_type: str
    data: bytes
    pages: int | None = None  #: PDF only

    def summary(self) -> dict[str, Any]:
        """What a job keeps as its result (shown on the job page and the report list)."""
        return {"filename": self.filename, "size": len(self.data), "pages": self.pages}


def build_report(
    session: Session, scope: ReportScope, *, progress: Progress | None = None
) -> BuiltReport:
    """The report's file, in the scope's format and language.

    Call inside an application context with ``flask_babel.force_locale(scope.lang)`` (the
    job and the command do), so that headings and chart texts are in that language.
    """
    report = FORMATS[scope.fmt]
    content = gather(session, scope)
    pages = None
    if scope.fmt == "csv":
        from surveys.reports.tables import indicator_csv

        data = indicator_csv(content)
    elif scope.fmt == "xlsx":
        from surveys.reports.tables import workbook

        data = workbook(content)
    elif scope.fmt == "sav":
        from surveys.reports.spss import responses_sav

        data = responses_sav(session, content)
    else:
        from surveys.reports.pdf import report_pdf

        data, pages = report_pdf(session, content, progress=progress)
    return BuiltReport(scope.filename, report.content_type, data, pages)


# --------------------------------------------------------------------------------------------
# The page


@dataclasses.dataclass
class ReportPage:
    """What the "Yearly report" page offers one reader."""

    institutions: list[Institution]
    institution: Institution | None
    years: list[int]
    programmes: list[Programme]
    whole: bool  #: the reader may build the institution-wide report
    formats: list[str]  #: format keys this reader may build
    reports: list[Any]  #: report jobs the reader may see (kept, running or failed), newest first


def report_page(
    session: Session, user: User, *, institution_code: str | None, limit: int = 50
) -> ReportPage:
    """The reader's institutions, the chosen one's graduation years with data and readable
    programmes, and the reports kept for the reader. Raises ``OutOfScope``/``LookupError``
    for an institution the reader may not see or that does not exist."""
    from sqlalchemy import or_

    from surveys.dashboard.scope import readable_institutions
    from surveys.jobs.models import Job, JobState
    from surveys.jobs.services import jobs_for
    from surveys.reports.jobs import REPORT_JOB

    scope = scope_of(session, user)
    institutions = readable_institutions(session, scope)
    institution = institution_for_reader(session, scope, institution_code)
    page = ReportPage(institutions, institution, [], [], False, [], [])
    page.formats = [k for k, f in FORMATS.items() if f.aggregated or not scope.is_committee]
    if institution is not None:
        page.programmes = readable_programmes(session, scope, institution.id)
        page.whole = scope.sees_whole(institution.id)
        codes = None if page.whole else [p.code for p in page.programmes]
        if page.programmes:
            found = get_indicators(session, institution.id, programmes=codes)
            page.years = sorted({r.year for r in found.records}, reverse=True)
    stmt = jobs_for(session, user, kind=REPORT_JOB).where(
        or_(Job.state != JobState.SUCCEEDED, Job.files.any())
    )
    if institution is not None:
        stmt = stmt.where(Job.institution_id == institution.id)
    page.reports = list(session.scalars(stmt.limit(limit)))
    return page
