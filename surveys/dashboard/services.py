"""What committee members and staff read: the pages of indicators, built from records.

Every number on these pages is an indicator record stored by the indicator service
(:func:`surveys.indicators.services.get_indicators`, computed once per data and settings
version), an answer distribution of ``analysis.counts``, or a plain count of the campaigns.
Names come from :func:`surveys.indicators.presentation.display_names`, text from the
presentation rules, charts from ``surveys.charts``; nothing here rounds, suppresses or
recomputes a statistic. Services take a session and never commit (the first reader after a
change stores the records the service computed; the request commits them); a reader outside
the scope of a page gets :class:`OutOfScope`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import Indicator
from analysis.counts import ItemDistribution, item_distribution
from surveys.auth.models import User
from surveys.campaigns.models import Invitation
from surveys.charts import Chart, figures, present
from surveys.dashboard.scope import (
    OutOfScope,
    ReaderScope,
    institution_for_reader,
    programme_for_reader,
    readable_institutions,
    readable_programmes,
    reader_scope,
    scope_of,
)
from surveys.dashboard.texts import ItemTexts, item_texts
from surveys.indicators.presentation import Names, display_names
from surveys.indicators.services import get_indicators
from surveys.indicators.settings import Settings, current_settings
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import Graduate, Institution, Programme, ProgrammeLevel
from surveys.responses.models import Answer, Response, ResponseStatus

__all__ = [
    "OutOfScope",
    "overview_page",
    "programme_page",
    "reader_scope",
]

#: Indicators whose trend the programme page draws, in this order (domains after these).
TREND_INDICATORS = ("overall_satisfied", "nps")
OUTCOME_INDICATORS = (
    "employment_rate",
    "retention_12m",
    "partner_employment",
    "months_to_employment",
)
#: Overview columns a reader can sort by.
#: what an overview row shows (targets may add others: see :func:`_overview_indicators`)
OVERVIEW_INDICATORS = ("responses", "response_rate", "overall_satisfied", "nps", "domain_score")
#: Programme rows per overview page (a national institution has hundreds)
OVERVIEW_PER_PAGE = 50
SORTS = ("programme", "responses", "response_rate", "overall_satisfied", "nps", "target")
TARGET_ORDER = {"not_met": 0, "inconclusive": 1, "met": 2}


# --------------------------------------------------------------------------------------------
# The records


def institution_years(session: Session, institution_id: int) -> list[int]:
    """The graduation years the institution has records of, newest first."""
    whole = get_indicators(session, institution_id, programmes=["*"])
    return sorted({r.year for r in whole.records}, reverse=True)


class RecordIndex:
    """An institution's records, looked up by group."""

    def __init__(self, records: Iterable[Indicator]) -> None:
        self.by_group: dict[tuple[str, int, str | None], list[Indicator]] = defaultdict(list)
        self.by_programme: dict[str, list[Indicator]] = defaultdict(list)
        for record in records:
            self.by_group[record.programme, record.year, record.instrument].append(record)
            self.by_programme[record.programme].append(record)

    def instruments(self) -> list[str]:
        return sorted({i for _p, _y, i in self.by_group if i is not None})

    def group(self, programme: str, year: int, instrument: str | None) -> list[Indicator]:
        return self.by_group.get((programme, year, instrument), [])

    def one(
        self,
        programme: str,
        year: int,
        instrument: str | None,
        indicator: str,
        domain: str | None = None,
        *,
        pooled: bool = False,
    ) -> Indicator | None:
        for record in self.group(programme, year, instrument):
            if (
                record.indicator == indicator
                and record.domain == domain
                and ("pooled" in record.flags) == pooled
            ):
                return record
        return None


# --------------------------------------------------------------------------------------------
# Filters shared by the pages (plain GET parameters)


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a page shows; every field comes from a GET parameter (bookmarkable)."""

    institution: str | None = None
    year: int | None = None
    instrument: str | None = None
    level: str | None = None
    programme: str | None = None  #: search in programme codes and names
    sort: str = "programme"
    descending: bool = False

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        """Read the filters from ``request.args``; a value that makes no sense is ignored."""

        def text(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            return value[:100] or None

        year = text("year")
        sort = text("sort") or "programme"
        level = text("level")
        return cls(
            institution=text("institution"),
            year=int(year) if year and year.isdigit() and len(year) == 4 else None,
            instrument=text("instrument"),
            level=level if level in {lv.value for lv in ProgrammeLevel} else None,
            programme=text("programme"),
            sort=sort if sort in SORTS else "programme",
            descending=args.get("order") == "desc",
        )


def _instrument_choices(keys: Iterable[str], names: Names) -> list[tuple[str, str]]:
    return [(key, names.instruments.get(key, key)) for key in keys]


# --------------------------------------------------------------------------------------------
# Overview


@dataclasses.dataclass
class OverviewRow:
    """One programme × instrument of the overview (``programme_id`` None: the institution)."""

    programme_id: int | None
    code: str
    name: str
    level: str | None
    instrument: str
    instrument_title: str
    responses: Indicator | None
    response_rate: Indicator | None
    overall_satisfied: Indicator | None
    nps: Indicator | None
    weakest: Indicator | None
    strongest: Indicator | None
    targets: list[Indicator]


@dataclasses.dataclass
class OverviewPage:
    institution: Institution | None
    institutions: list[Institution]
    filters: Filters
    years: list[int]
    year: int | None
    instruments: list[tuple[str, str]]
    levels: list[str]
    rows: list[OverviewRow]  #: this page's rows, sorted
    total: list[OverviewRow]
    domain_names: dict[str, dict[str, str]]
    min_n: int
    confidence_level: float = 0.95
    low_n: int = 25
    row_count: int = 0  #: rows matching the filters, on every page
    page: int = 1
    per_page: int = OVERVIEW_PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.row_count // self.per_page))


def overview_page(
    session: Session,
    user: User | ReaderScope,
    filters: Filters,
    language: str,
    page_number: int = 1,
) -> OverviewPage:
    """Per programme of one institution and graduation year: responses, response rate,
    overall satisfaction, NPS, weakest and strongest domain, target status; the rows sorted
    as asked, ``OVERVIEW_PER_PAGE`` of them on page ``page_number`` (past the end: the last)."""
    scope = scope_of(session, user)
    institutions = readable_institutions(session, scope)
    institution = institution_for_reader(session, scope, filters.institution)
    empty = OverviewPage(institution, institutions, filters, [], None, [], [], [], [], {}, 5)
    if institution is None:
        return empty
    programmes = readable_programmes(session, scope, institution.id)
    names = display_names(session, institution.id, language)
    years = institution_years(session, institution.id)
    year = filters.year if filters.year in years else (years[0] if years else None)
    if year is None:
        return empty
    whole = scope.sees_whole(institution.id)
    found = get_indicators(
        session,
        institution.id,
        years=[year],
        programmes=None if whole else [p.code for p in programmes],
        indicators=_overview_indicators(current_settings(session, institution.id)),
    )
    index = RecordIndex(found.records)
    instruments = index.instruments()
    page = dataclasses.replace(
        empty,
        years=years,
        year=year,
        instruments=_instrument_choices(instruments, names),
        levels=sorted({p.level.value for p in programmes}),
        domain_names=names.domains,
        min_n=found.min_n,
        confidence_level=found.settings.confidence_level,
        low_n=found.settings.low_n,
    )
    chosen = [filters.instrument] if filters.instrument in instruments else instruments
    needle = (filters.programme or "").casefold()
    for programme in programmes:
        if filters.level and programme.level.value != filters.level:
            continue
        if needle and needle not in f"{programme.code} {programme.name}".casefold():
            continue
        for key in chosen:
            row = _overview_row(index, programme.code, year, key, names)
            if row is not None:
                page.rows.append(
                    dataclasses.replace(
                        row,
                        programme_id=programme.id,
                        name=programme.name,
                        level=programme.level.value,
                    )
                )
    if whole:
        for key in chosen:
            row = _overview_row(index, "*", year, key, names)
            if row is not None:
                page.total.append(dataclasses.replace(row, name=institution.name))
    if filters.sort == "programme":
        page.rows.sort(key=lambda r: (r.code, r.instrument), reverse=filters.descending)
    else:
        page.rows.sort(key=_sort_key(filters.sort, filters.descending))
    page.row_count, page.per_page = len(page.rows), OVERVIEW_PER_PAGE
    page.page = min(max(1, page_number), page.pages)
    start = (page.page - 1) * page.per_page
    page.rows = page.rows[start : start + page.per_page]
    return page


def _overview_indicators(settings: Settings) -> set[str]:
    """The indicators an overview row reads: its columns and those with a target
    (``domain_score:communication`` names the indicator ``domain_score``)."""
    return set(OVERVIEW_INDICATORS) | {key.split(":", 1)[0] for key in settings.targets}


def _overview_row(
    index: RecordIndex, programme: str, year: int, instrument: str, names: Names
) -> OverviewRow | None:
    group = index.group(programme, year, instrument)
    if not group:
        return None
    by_name: dict[str, Indicator] = {}
    domains: list[Indicator] = []
    for record in group:
        if "pooled" in record.flags or record.indicator.endswith("_change"):
            continue
        if record.indicator == "domain_score":
            domains.append(record)
        elif record.domain is None:
            by_name[record.indicator] = record
    shown = [r for r in domains if not r.suppressed and r.estimate is not None]
    title = names.instruments.get(instrument, instrument)
    return OverviewRow(
        programme_id=None,
        code=programme,
        name="",
        level=None,
        instrument=instrument,
        instrument_title=title,
        responses=by_name.get("responses"),
        response_rate=by_name.get("response_rate"),
        overall_satisfied=by_name.get("overall_satisfied"),
        nps=by_name.get("nps"),
        weakest=min(shown, key=lambda r: r.estimate or 0.0) if shown else None,
        strongest=max(shown, key=lambda r: r.estimate or 0.0) if len(shown) > 1 else None,
        targets=[r for r in group if r.target_status and "pooled" not in r.flags],
    )


def _sort_key(sort: str, descending: bool):
    """Rows with a value first (by it, either way), hidden and missing values last."""
    sign = -1.0 if descending else 1.0

    def estimate(record: Indicator | None) -> tuple[int, float]:
        if record is None or record.suppressed or record.estimate is None:
            return (1, 0.0)
        return (0, sign * record.estimate)

    def key(row: OverviewRow) -> tuple[Any, ...]:
        if sort == "target":
            statuses = [TARGET_ORDER.get(r.target_status or "", 3) for r in row.targets]
            known = [s for s in statuses if s < 3]
            return (0, sign * min(known), row.code) if known else (1, 0.0, row.code)
        return (*estimate(getattr(row, sort)), row.code, row.instrument)

    return key


# --------------------------------------------------------------------------------------------
# Programme page


@dataclasses.dataclass
class ReliabilityRow:
    domain: str
    cronbach: Indicator | None
    krippendorff: Indicator | None


@dataclasses.dataclass
class ProgrammePage:
    programme: Programme
    institution: Institution
    years: list[int]
    year: int | None
    instruments: list[tuple[str, str]]
    instrument: str | None
    headline: list[Indicator]
    domain_chart: Chart | None
    distribution_charts: list[Chart]
    trend_charts: list[Chart]
    outcomes: list[Indicator]
    outcome_charts: list[Chart]
    reliability: list[ReliabilityRow]
    responses: Indicator | None
    response_rate: Indicator | None
    min_n: int


def programme_page(
    session: Session, user: User | ReaderScope, programme_id: int, filters: Filters, language: str
) -> ProgrammePage:
    """Everything about one programme: domain scores, answers per item, trends, outcomes,
    and how reliable the numbers are. Raises :class:`OutOfScope` / ``LookupError``."""
    scope = scope_of(session, user)
    programme = programme_for_reader(session, scope, programme_id)
    institution = programme.institution
    names = display_names(session, institution.id, language)
    found = get_indicators(session, institution.id, programmes=[programme.code])
    index = RecordIndex(found.records)
    code = programme.code
    own = index.by_programme.get(code, [])
    years = sorted({r.year for r in own}, reverse=True)
    year = filters.year if filters.year in years else (years[0] if years else None)
    instruments = sorted({r.instrument for r in own if r.instrument is not None})
    instrument = filters.instrument if filters.instrument in instruments else None
    if instrument is None and instruments:
        # the instrument with the most responses this year
        instrument = max(
            instruments,
            key=lambda k: (
                ((index.one(code, year, k, "responses") or _NONE).n or 0, k)
                if year is not None
                else (0, k)
            ),
        )
    limit = found.min_n
    page = ProgrammePage(
        programme=programme,
        institution=institution,
        years=years,
        year=year,
        instruments=_instrument_choices(instruments, names),
        instrument=instrument,
        headline=[],
        domain_chart=None,
        distribution_charts=[],
        trend_charts=[],
        outcomes=[],
        outcome_charts=[],
        reliability=[],
        responses=None,
        response_rate=None,
        min_n=limit,
    )
    if year is None:
        return page
    domains = names.domains.get(instrument or "", {})
    words = item_texts(session, language).get(instrument or "") or ItemTexts(instrument or "")
    if instrument is not None:
        group = index.group(code, year, instrument)
        page.responses = index.one(code, year, instrument, "responses")
        page.response_rate = index.one(code, year, instrument, "response_rate")
        page.headline = [
            r
            for name in ("overall_satisfied", "nps")
            for r in (index.one(code, year, instrument, name),)
            if r is not None
        ]
        page.domain_chart = figures.domain_scores(
            [r for r in group if r.indicator == "domain_score"],
            domain_names=domains,
            min_n=limit,
        )
        page.distribution_charts = _distribution_charts(
            session, programme, year, instrument, words, limit
        )
        page.trend_charts = _trend_charts(own, instrument, domains, limit)
        page.reliability = _reliability(group, domains)
    page.outcomes = [
        r
        for name in OUTCOME_INDICATORS
        for r in (index.one(code, year, None, name),)
        if r is not None
    ]
    page.outcome_charts = [
        figures.trend(
            [r for r in own if r.instrument is None and present.base(r.indicator) == name],
            title=present.indicator_name(name),
            key=f"trend-{name}",
            min_n=limit,
        )
        for name in OUTCOME_INDICATORS[:3]
        if any(r.instrument is None and r.indicator == name for r in own)
    ]
    return page


_NONE = Indicator("", "", 0, None, "", None, None, None, None, None, 0.95, None)


def _trend_charts(
    records: Sequence[Indicator], instrument: str, domain_names: dict[str, str], limit: int
) -> list[Chart]:
    """One trend chart per headline indicator and per domain score of the instrument."""
    mine = [r for r in records if r.instrument == instrument]
    charts = []
    for name in TREND_INDICATORS:
        series = [r for r in mine if present.base(r.indicator) == name]
        if series:
            charts.append(
                figures.trend(
                    series, title=present.indicator_name(name), key=f"trend-{name}", min_n=limit
                )
            )
    domains = list(
        dict.fromkeys(r.domain for r in mine if r.indicator == "domain_score" and r.domain)
    )
    order = {d: i for i, d in enumerate(domain_names)}
    for domain in sorted(domains, key=lambda d: (order.get(d, len(order)), d)):
        series = [
            r for r in mine if present.base(r.indicator) == "domain_score" and r.domain == domain
        ]
        charts.append(
            figures.trend(
                series,
                title=domain_names.get(domain, domain),
                key=f"trend-domain-{domain}",
                min_n=limit,
            )
        )
    return charts


def _reliability(group: Sequence[Indicator], domain_names: dict[str, str]) -> list[ReliabilityRow]:
    rows: dict[str, ReliabilityRow] = {}
    for record in group:
        if record.indicator not in ("cronbach_alpha", "krippendorff_alpha") or not record.domain:
            continue
        if "pooled" in record.flags:
            continue
        row = rows.setdefault(
            record.domain,
            ReliabilityRow(domain_names.get(record.domain, record.domain), None, None),
        )
        if record.indicator == "cronbach_alpha":
            row.cronbach = record
        else:
            row.krippendorff = record
    order = {d: i for i, d in enumerate(domain_names)}
    return [rows[d] for d in sorted(rows, key=lambda d: (order.get(d, len(order)), d))]


# --------------------------------------------------------------------------------------------
# Answer distributions


def answer_distributions(
    session: Session, programme_id: int, year: int, instrument: str, *, limit: int
) -> dict[str, ItemDistribution]:
    """How the employers' answers to each numeric item of one programme, cohort and
    instrument spread over the scale points (submitted responses only), by item key.

    One aggregate query; an item answered by fewer than ``limit`` employers is suppressed by
    :func:`analysis.counts.item_distribution`.
    """
    stmt = (
        select(
            Answer.item_key,
            Answer.number,
            Answer.not_applicable,
            InstrumentVersion.id,
            func.count(),
        )
        .join(Response, Response.id == Answer.response_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .where(
            Response.status == ResponseStatus.SUBMITTED,
            Graduate.programme_id == programme_id,
            Graduate.graduation_year == year,
            Instrument.key == instrument,
        )
        .group_by(Answer.item_key, Answer.number, Answer.not_applicable, InstrumentVersion.id)
    )
    rows = session.execute(stmt).all()
    versions = {row[3] for row in rows}
    scales: dict[str, tuple[int, int]] = {}
    if versions:
        from surveys.instruments.definitions import numeric_items

        for definition in session.scalars(
            select(InstrumentVersion.definition).where(InstrumentVersion.id.in_(versions))
        ):
            for item in numeric_items(definition):
                scales.setdefault(item["key"], (item["scale_min"], item["scale_max"]))
    counts: dict[str, list[int]] = {}
    not_applicable: dict[str, int] = defaultdict(int)
    for key, number, na, _version, count in rows:
        if key not in scales:
            continue  # a text, choice or date item
        low, high = scales[key]
        cells = counts.setdefault(key, [0] * (high - low + 1))
        if na:
            not_applicable[key] += count
        elif number is not None and float(number).is_integer() and low <= number <= high:
            cells[int(number) - low] += count
    return {
        key: item_distribution(
            key,
            cells,
            scale_min=scales[key][0],
            scale_max=scales[key][1],
            not_applicable=not_applicable[key],
            min_n=limit,
        )
        for key, cells in counts.items()
    }


def _distribution_charts(
    session: Session,
    programme: Programme,
    year: int,
    instrument: str,
    words: ItemTexts,
    limit: int,
) -> list[Chart]:
    """One diverging bar chart per answer scale of the instrument (0–10 items excluded)."""
    distributions = answer_distributions(session, programme.id, year, instrument, limit=limit)
    by_scale: dict[str, list[ItemDistribution]] = defaultdict(list)
    for key, (scale, low, high) in words.item_scales.items():
        if key in distributions and high - low + 1 <= figures.MAX_LIKERT_POINTS:
            by_scale[scale].append(distributions[key])
    charts = []
    for scale, items in by_scale.items():
        points = words.scale_points.get(scale) or []
        labels = [label or str(items[0].scale_min + i) for i, label in enumerate(points)]
        charts.append(
            figures.answer_distribution(
                items,
                item_texts=words.items,
                point_labels=labels,
                key=f"answers-{scale}",
                min_n=limit,
            )
        )
    return charts


# --------------------------------------------------------------------------------------------
# Comparison heatmap


@dataclasses.dataclass
class HeatmapPage:
    institution: Institution | None
    institutions: list[Institution]
    filters: Filters
    years: list[int]
    year: int | None
    instruments: list[tuple[str, str]]
    instrument: str | None
    chart: Chart | None


def heatmap_page(
    session: Session, user: User | ReaderScope, filters: Filters, language: str
) -> HeatmapPage:
    """Programmes × domains of one institution, year and instrument, coloured by score."""
    scope = scope_of(session, user)
    institutions = readable_institutions(session, scope)
    institution = institution_for_reader(session, scope, filters.institution)
    page = HeatmapPage(institution, institutions, filters, [], None, [], None, None)
    if institution is None:
        return page
    programmes = readable_programmes(session, scope, institution.id)
    names = display_names(session, institution.id, language)
    page.years = institution_years(session, institution.id)
    page.year = filters.year if filters.year in page.years else next(iter(page.years), None)
    if page.year is None:
        return page
    found = get_indicators(
        session,
        institution.id,
        years=[page.year],
        programmes=[p.code for p in programmes],
    )
    index = RecordIndex(found.records)
    keys = index.instruments()
    page.instruments = _instrument_choices(keys, names)
    page.instrument = filters.instrument if filters.instrument in keys else next(iter(keys), None)
    if page.year is None or page.instrument is None:
        return page
    labels = {p.code: f"{p.code} {p.name}" for p in programmes}
    records = [
        r
        for code in labels
        for r in index.group(code, page.year, page.instrument)
        if r.indicator == "domain_score" and "pooled" not in r.flags
    ]
    page.chart = figures.heatmap(
        records,
        programme_names=labels,
        domain_names=names.domains.get(page.instrument, {}),
        min_n=found.min_n,
    )
    return page


# --------------------------------------------------------------------------------------------
# The committee's home


@dataclasses.dataclass
class HomeProgramme:
    programme: Programme
    #: (instrument title, graduation years surveyed, newest first)
    surveys: list[tuple[str, list[int]]]


@dataclasses.dataclass
class HomeInstitution:
    institution: Institution
    whole: bool  #: the whole institution is assigned (not only some programmes)
    programmes: list[HomeProgramme]


def reader_home(session: Session, user: User | ReaderScope, language: str) -> list[HomeInstitution]:
    """The reader's institutions, each with its readable programmes and what employers
    answered about them (instrument titles in ``language`` and graduation years of submitted
    responses; no counts, no names)."""
    scope = scope_of(session, user)
    result = []
    for institution in readable_institutions(session, scope):
        programmes = readable_programmes(session, scope, institution.id)
        titles = display_names(session, institution.id, language).instruments
        surveyed: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        if programmes:
            stmt = (
                select(Graduate.programme_id, Instrument.key, Graduate.graduation_year)
                .select_from(Response)
                .join(Invitation, Invitation.id == Response.invitation_id)
                .join(Graduate, Graduate.id == Invitation.graduate_id)
                .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
                .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
                .where(
                    Response.status == ResponseStatus.SUBMITTED,
                    Graduate.programme_id.in_([p.id for p in programmes]),
                )
                .distinct()
            )
            for programme_id, key, year in session.execute(stmt):
                surveyed[programme_id][key].add(year)
        result.append(
            HomeInstitution(
                institution,
                scope.sees_whole(institution.id),
                [
                    HomeProgramme(
                        p,
                        [
                            (
                                titles.get(key, key),
                                sorted(years, reverse=True),
                            )
                            for key, years in sorted(surveyed[p.id].items())
                        ],
                    )
                    for p in programmes
                ],
            )
        )
    return result
