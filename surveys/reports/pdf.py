"""The yearly report as PDF: WeasyPrint, A4, fonts embedded, charts as vector images.

The content is the dashboard's, built by its own services for the report's reader scope:
the overview's rows (summary table with target status), each programme's page (headline
values, the domain, answer and trend charts with their data tables, outcomes,
reliability), the partnership evidence and the methodology document. Charts are exported
to SVG by :mod:`surveys.charts.export` (kaleido and Debian's Chromium) and placed as
images, so they stay vector graphics. Chromium draws them while Python works: it is started
first, each programme's charts are sent to it as soon as the programme's page is read, and
the document names a chart by a ``hamkor-chart:`` address that WeasyPrint's fetch resolves
by waiting for that drawing (after parsing the document and computing its styles, before
laying it out). Page numbers and the table of contents are CSS
paged media (``counter(page)``, ``target-counter``); the text is set in DejaVu, which
WeasyPrint embeds (subset) and which covers Cyrillic and Uzbek Latin (``oʻ``, ``gʻ``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from analysis import Indicator
from analysis.presentation import Display
from surveys.charts import Chart, present
from surveys.charts.export import charts_svg, start_server
from surveys.dashboard import methodology
from surveys.dashboard.partnerships import PartnershipPage, partnership_page
from surveys.dashboard.services import (
    TREND_INDICATORS,
    Filters,
    OverviewPage,
    OverviewRow,
    ProgrammePage,
    overview_page,
    programme_page,
)
from surveys.registry.labels import AGREEMENT_KIND_NAMES
from surveys.registry.models import Programme
from surveys.reports.services import Progress, ReportContent, reader_for

#: Trend charts a programme section draws (the headline ones; per-domain trends stay on
#: the page, where a reader can open them).
REPORT_TRENDS = tuple(f"trend-{name}" for name in TREND_INDICATORS)
#: The answers per item (a tall chart per scale) and the outcome trends stay on the page: the
#: report draws the domain scores and the headline trends, and tables the outcomes.


@dataclasses.dataclass
class InstrumentPart:
    """One instrument's part of a programme section: the programme page for it."""

    title: str
    page: ProgrammePage
    charts: list[Chart]


@dataclasses.dataclass
class ProgrammeSection:
    programme: Programme
    anchor: str
    parts: list[InstrumentPart]
    #: graduate outcomes (they belong to no instrument): from the first part's page
    outcomes: ProgrammePage | None


def report_pdf(
    session: Session, content: ReportContent, *, progress: Progress | None = None
) -> tuple[bytes, int]:
    """The PDF and its number of pages."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    start_server()  # Chromium starts while the pages are read
    scope = content.scope
    reader = reader_for(scope)
    language = scope.lang
    total = len(scope.programmes) + 2
    step = progress or (lambda done, total, message: None)
    images = _ChartImages()
    try:
        step(0, total, _("Summary of the programmes"))
        overview, summary = _overview(
            session, reader, Filters(institution=scope.institution.code, year=scope.year), language
        )
        sections, without_data = [], []
        for done, programme in enumerate(scope.programmes, start=1):
            step(done, total, _("Programme %(code)s", code=programme.code))
            records = content.of_programme(programme.code)
            if not records:
                # nothing recorded for the year: one line in a list, not a page of its own
                # (an institution's new or closed programmes made hundreds of empty pages)
                without_data.append(programme)
                continue
            section = _programme_section(session, content, programme, records)
            images.draw(_charts(section))
            sections.append(section)
        partners = partnership_page(
            session, reader, institution_code=scope.institution.code, year=scope.year
        )
        step(total - 1, total, _("Laying out the pages"))
        document = methodology.rendered(language)
        html = render_template(
            "reports/report.html",
            content=content,
            scope=scope,
            overview=_summary_rows(summary, overview, scope),
            overview_page=overview,
            sections=sections,
            without_data=without_data,
            partners=partners,
            kinds=_kinds(partners),
            methodology=document,
            image=images.uri,
            present=present,
            agreement_kind_names=AGREEMENT_KIND_NAMES,
        )
        try:
            rendered = HTML(string=html, url_fetcher=_fetcher(images)).render()
        except FatalURLFetchingError as error:
            raise (error.__cause__ or error) from None  # a chart that could not be drawn
        data = rendered.write_pdf()
    finally:
        images.close()
    step(total, total, _("Done"))
    return data, len(rendered.pages)


#: The scheme of the addresses that name a chart's drawing inside the document.
CHART_SCHEME = "hamkor-chart"


class _ChartImages:
    """The report's charts as SVG, drawn in a background thread (one kaleido batch per
    programme, one batch at a time) and named by ``hamkor-chart:N`` addresses."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-charts")
        self._uris: dict[int, str] = {}
        self._drawings: dict[str, tuple[Future[list[str]], int]] = {}

    def draw(self, charts: Iterable[Chart]) -> None:
        """Send the charts that have something to draw to Chromium, without waiting."""
        drawable: Sequence[Chart] = [c for c in charts if not c.empty and c.draws_a_point]
        if not drawable:
            return
        future = self._pool.submit(charts_svg, drawable)
        for i, chart in enumerate(drawable):
            uri = f"{CHART_SCHEME}:{len(self._drawings)}"
            self._uris[id(chart)] = uri
            self._drawings[uri] = (future, i)

    def uri(self, chart: Chart) -> str | None:
        """The address of the chart's drawing (None for a chart with nothing to draw)."""
        return self._uris.get(id(chart))

    def svg(self, uri: str) -> bytes:
        """The drawing of the address, once Chromium has made it (its error if it failed)."""
        future, index = self._drawings[uri]
        return future.result()[index].encode("utf-8")

    def close(self) -> None:
        """Drop the drawings not started yet (after an error) and end the thread."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _fetcher(images: _ChartImages):
    """WeasyPrint's URL fetcher for the report: ``hamkor-chart:`` addresses from the
    drawings, ``data:`` URIs as usual, nothing else (no file, nothing on the network)."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class Fetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(CHART_SCHEME + ":"):
                try:
                    svg = images.svg(url)
                except Exception as error:
                    # a missing chart must fail the report, not become a warning
                    raise FatalURLFetchingError(f"chart {url} not drawn") from error
                return URLFetcherResponse(url, svg, {"Content-Type": "image/svg+xml"})
            return super().fetch(url, headers)

    return Fetcher(allowed_protocols=("data",))


def _programme_section(
    session: Session,
    content: ReportContent,
    programme: Programme,
    records: list[tuple[Indicator, Display]],
) -> ProgrammeSection:
    """The section of ``programme``, whose indicator records of the year are ``records``."""
    scope = content.scope
    reader = reader_for(scope)
    instruments = sorted({r.instrument for r, _d in records if r.instrument})
    parts = []
    for key in instruments:
        page = programme_page(
            session,
            reader,
            programme.id,
            Filters(year=scope.year, instrument=key),
            scope.lang,
        )
        if page.year != scope.year or page.instrument != key:
            continue
        charts = [c for c in (page.domain_chart,) if c is not None]
        charts += [c for c in page.trend_charts if c.key in REPORT_TRENDS]
        parts.append(InstrumentPart(content.names.instruments.get(key, key), page, charts))
    outcomes = parts[0].page if parts else None
    if outcomes is None:
        page = programme_page(session, reader, programme.id, Filters(year=scope.year), scope.lang)
        outcomes = page if page.year == scope.year and page.outcomes else None
    return ProgrammeSection(programme, f"programme-{programme.id}", parts, outcomes)


def _charts(section: ProgrammeSection) -> Iterable[Chart]:
    for part in section.parts:
        yield from part.charts


def _overview(
    session: Session, reader, filters: Filters, language: str
) -> tuple[OverviewPage, list[OverviewRow]]:
    """The overview (its first page) and the rows of all its pages."""
    first = overview_page(session, reader, filters, language)
    rows = list(first.rows)
    for number in range(2, first.pages + 1):
        rows += overview_page(session, reader, filters, language, number).rows
    return first, rows


def _summary_rows(rows: list[OverviewRow], overview: OverviewPage, scope) -> list[OverviewRow]:
    """The overview's rows of the report's programmes, then the institution's own."""
    codes = set(scope.programme_codes)
    return [row for row in rows if row.code in codes] + (overview.total if scope.whole else [])


def _kinds(partners: PartnershipPage) -> list[tuple[str, int]]:
    return [(str(AGREEMENT_KIND_NAMES[kind.value]), n) for kind, n in partners.kinds]
