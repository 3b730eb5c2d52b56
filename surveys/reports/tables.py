"""The report as tables: indicator records as CSV (UTF-8 with BOM) and as an XLSX workbook.

Both carry the records exactly as the indicator service stored them (numbers unrounded, as
numbers) beside their display texts from the presentation module (rounded, "< 5",
"hidden"), so an analyst can both recompute and quote. A suppressed record has no number:
its cells say why, as the pages do. Every text cell goes through
:func:`surveys.spreadsheets.neutralise_formula`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _

from analysis import Indicator
from analysis.indicators import FIELDS, MEANS, PROPORTIONS
from analysis.presentation import Display, base_indicator, format_number
from surveys.dashboard.methodology import markdown_text
from surveys.reports.services import ReportContent
from surveys.spreadsheets import neutralise_formula

#: The label columns that follow the record's own fields in the CSV.
LABEL_COLUMNS = (
    "programme_name",
    "instrument_title",
    "indicator_name",
    "domain_name",
    "shown",
    "target_status_name",
)


def _cell(value: Any) -> Any:
    """A record's value as a CSV cell: None empty, flags joined, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return neutralise_formula(";".join(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise_formula(value)


def indicator_csv(content: ReportContent) -> bytes:
    """The records as CSV: the fields of ``hamkor indicators --format csv`` (numbers in
    full precision), then their names and display texts in the report's language. UTF-8
    with a byte-order mark, so that Excel opens Cyrillic and Uzbek letters correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*FIELDS, *LABEL_COLUMNS])
    names = content.names
    for record, shown in content.records:
        values = record.to_dict()
        writer.writerow(
            [_cell(values[f]) for f in FIELDS]
            + [
                _cell(v)
                for v in (
                    names.programmes.get(record.programme, shown.programme),
                    shown.instrument,
                    shown.indicator,
                    shown.domain,
                    shown.value,
                    shown.target_status,
                )
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --------------------------------------------------------------------------------------------
# XLSX


def number_format(indicator: str) -> str:
    """The cell format that shows a record's number as the pages round it."""
    base = base_indicator(indicator)
    if base in PROPORTIONS:
        return "0.0%"
    if base in MEANS or base == "months_to_employment":
        return "0.0"
    if base == "responses":
        return "0"
    return "0.00"


def _records_header() -> list[str]:
    return [
        _("Programme code"),
        _("Programme"),
        _("Year"),
        _("Instrument"),
        _("Indicator"),
        _("Domain"),
        _("Number of answers"),
        _("Estimate"),
        _("Lower bound"),
        _("Upper bound"),
        _("Confidence level"),
        _("As shown"),
        _("Interval method"),
        _("Target"),
        _("Target status"),
        _("Notes"),
        _("Suppressed"),
        _("Indicator key"),
        _("Domain key"),
    ]


def _record_row(record: Indicator, shown: Display, programme_name: str | None) -> list[Any]:
    """One row of the records sheet; a suppressed record's numbers are its display text."""
    hidden = shown.n if record.suppressed else None
    return [
        record.programme,
        programme_name or shown.programme,
        shown.year,
        shown.instrument,
        shown.indicator,
        shown.domain,
        hidden if record.suppressed else record.n,
        hidden if record.suppressed else record.estimate,
        None if record.suppressed else record.ci_low,
        None if record.suppressed else record.ci_high,
        record.confidence_level,
        shown.value,
        shown.method,
        record.target,
        shown.target_status,
        "; ".join(shown.flags),
        _("yes") if record.suppressed else _("no"),
        record.indicator,
        record.domain,
    ]


#: Columns (1-based) of the records sheet that hold a record's number in its own format.
_VALUE_COLUMNS = (8, 9, 10, 14)


def _sheet_title(text: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts: ≤ 31 characters, none of ``[]:*?/\\``, unique."""
    clean = "".join("_" if c in "[]:*?/\\" else c for c in text).strip("'") or "-"
    title, number = clean[:31], 2
    while title.casefold() in taken:
        suffix = f" ({number})"
        title, number = clean[: 31 - len(suffix)] + suffix, number + 1
    taken.add(title.casefold())
    return title


def workbook(content: ReportContent) -> bytes:
    """The XLSX report: every record on one sheet, one sheet per programme (and one for
    the institution as a whole), and the methodology; frozen headers, filters, number
    formats and column widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    bold = Font(bold=True)
    hidden_fill = PatternFill("solid", fgColor="EEEEEE")
    book = Workbook()
    taken: set[str] = set()
    sheet = book.active
    sheet.title = _sheet_title(_("Indicators"), taken)
    header = _records_header()
    sheet.append([neutralise_formula(h) for h in header])
    for record, shown in content.records:
        name = content.names.programmes.get(record.programme)
        sheet.append([neutralise_formula(v) for v in _record_row(record, shown, name)])
        row = sheet.max_row
        for column in _VALUE_COLUMNS:
            sheet.cell(row, column).number_format = number_format(record.indicator)
        sheet.cell(row, 7).number_format = "0"
        sheet.cell(row, 11).number_format = "0%"
        if record.suppressed:
            for column in (7, 8):
                sheet.cell(row, column).fill = hidden_fill
                sheet.cell(row, column).alignment = Alignment(horizontal="right")
    _finish(sheet, header, bold, widths={1: 12, 2: 32, 4: 22, 5: 40, 6: 28, 12: 36, 13: 30})

    programme_header = [
        _("Instrument"),
        _("Indicator"),
        _("Domain"),
        _("Number of answers"),
        _("Estimate"),
        _("Lower bound"),
        _("Upper bound"),
        _("As shown"),
        _("Target status"),
        _("Notes"),
    ]
    groups = [(p.code, f"{p.code} {p.name}") for p in content.scope.programmes]
    if content.scope.whole:
        groups.append(("*", ""))
    for code, title in groups:
        rows = content.of_programme(code)
        if not rows:
            continue
        title = title or rows[0][1].programme  # "Whole institution" in the report's language
        sheet = book.create_sheet(_sheet_title(code if code != "*" else title, taken))
        sheet.append([neutralise_formula(title)])
        sheet.cell(1, 1).font = Font(bold=True, size=13)
        sheet.append([neutralise_formula(h) for h in programme_header])
        for record, shown in rows:
            suppressed = record.suppressed
            sheet.append(
                [
                    neutralise_formula(v)
                    for v in (
                        shown.instrument,
                        shown.indicator,
                        shown.domain,
                        shown.n if suppressed else record.n,
                        shown.n if suppressed else record.estimate,
                        None if suppressed else record.ci_low,
                        None if suppressed else record.ci_high,
                        shown.value,
                        shown.target_status,
                        "; ".join(shown.flags),
                    )
                ]
            )
            row = sheet.max_row
            for column in (5, 6, 7):
                sheet.cell(row, column).number_format = number_format(record.indicator)
            if suppressed:
                for column in (4, 5):
                    sheet.cell(row, column).fill = hidden_fill
        _finish(sheet, programme_header, bold, header_row=2, widths={1: 22, 2: 40, 3: 28, 8: 36})

    sheet = book.create_sheet(_sheet_title(_("Methodology"), taken))
    _methodology_sheet(sheet, content, bold)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _finish(sheet, header, bold, *, header_row: int = 1, widths: dict[int, int]) -> None:
    """Bold, frozen header with a filter over the table; sensible column widths."""
    from openpyxl.utils import get_column_letter

    for column in range(1, len(header) + 1):
        sheet.cell(header_row, column).font = bold
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = widths.get(
            column, max(12, len(header[column - 1]) + 2)
        )
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    last = get_column_letter(len(header))
    sheet.auto_filter.ref = f"A{header_row}:{last}{max(sheet.max_row, header_row)}"


def _methodology_sheet(sheet, content: ReportContent, bold) -> None:
    """The settings the numbers were computed with, then the methodology text (headings
    bold), one paragraph per row."""
    from openpyxl.styles import Alignment, Font

    settings = content.settings
    lang = content.scope.lang
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 70
    rows = [
        (_("Institution"), f"{content.scope.institution.code} {content.scope.institution.name}"),
        (_("Graduation year"), str(content.scope.year)),
        (_("Confidence level"), format_number(100 * settings.confidence_level, 0, lang) + "%"),
        (_("Smallest group shown"), str(settings.min_n)),
        (_("Indicators computed"), format_datetime(content.computed_at, "medium")),
        (_("Report built"), format_datetime(content.built_at, "medium")),
    ]
    for label, value in rows:
        sheet.append([neutralise_formula(label), neutralise_formula(value)])
        sheet.cell(sheet.max_row, 1).font = bold
    sheet.append([])
    sheet.column_dimensions["C"].width = 60
    sheet.column_dimensions["D"].width = 14
    text, _lang = markdown_text(lang)
    for kind, cells in _markdown_rows(text):
        sheet.append([None, *(neutralise_formula(c) for c in cells)])
        row = sheet.max_row
        for column in range(2, 2 + len(cells)):
            cell = sheet.cell(row, column)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if kind == "heading":
                cell.font = Font(bold=True, size=12)
            elif kind == "table-head":
                cell.font = bold


def _markdown_rows(text: str) -> list[tuple[str, list[str]]]:
    """The methodology's Markdown as sheet rows: ``(kind, cells)`` with kind ``heading``,
    ``text`` (a paragraph or a list item), ``table-head`` or ``table`` (one cell a column)."""
    rows: list[tuple[str, list[str]]] = []
    paragraph: list[str] = []
    in_table = False

    def flush() -> None:
        if paragraph:
            rows.append(("text", [" ".join(paragraph).replace("**", "").replace("`", "")]))
            paragraph.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            flush()
            cells = [c.strip().replace("`", "") for c in line.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the header's underline
            rows.append(("table" if in_table else "table-head", cells))
            in_table = True
            continue
        in_table = False
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            rows.append(("heading", [line.lstrip("#").strip()]))
        elif line[:2] in ("- ", "* ") or (line[:1].isdigit() and line[1:3] == ". "):
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
    flush()
    return rows
