"""Reading an uploaded spreadsheet into a header and numbered rows, whatever its format.

CSV files come from many programs: UTF-8 with or without a byte-order mark, UTF-16 (Excel's
"Unicode text"), or Windows-1251 (what Russian-language Excel writes), separated by ``,``,
``;`` (Excel with a comma as decimal separator) or tabs. XLSX workbooks are read from the
sheet named after the import kind, or else the first sheet. Row numbers are the ones the user
sees in the spreadsheet: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from surveys.registry.columns import normalise_label

#: An XLSX may not unpack to more than this (a "zip bomb" would exhaust memory otherwise).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024

_DELIMITERS = (",", ";", "\t")


class FileProblem(ValueError):
    """The file as a whole cannot be read (not a row problem); the message says why."""


@dataclass
class Table:
    """A file's header and data rows, with how it was read."""

    header: list[str]
    #: (row number as shown in the spreadsheet, cells); blank rows are left out (may be empty)
    rows: list[tuple[int, list[Any]]]
    format: str  #: ``csv`` or ``xlsx``
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)


def read_table(data: bytes, filename: str, kind: str) -> Table:
    """Read ``data`` (the bytes of ``filename``) as CSV or XLSX.

    Raises :class:`FileProblem` for an empty file, an unreadable workbook or an old ``.xls``.
    """
    name = filename.lower()
    if not data or not data.strip():
        raise FileProblem(_("The file %(name)s is empty.", name=filename))
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            _(
                "%(name)s is an old Excel 97–2003 file. Save it as .xlsx or as CSV and "
                "upload it again.",
                name=filename,
            )
        )
    if name.endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, filename, kind)
    return _read_csv(data, filename)


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding: BOMs first, then UTF-8, then Windows-1251."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace"), "cp1251"


def _read_csv(data: bytes, filename: str) -> Table:
    try:
        text, encoding = _decode(data)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            _("%(name)s is not readable text (save it as CSV UTF-8).", name=filename)
        ) from exc
    if "\x00" in text:
        raise FileProblem(_("%(name)s is not a CSV file or an .xlsx workbook.", name=filename))
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    if first_line.lower().startswith("sep=") and len(first_line.strip()) == 5:
        # Excel's own hint line ("sep=;"); Excel hides it, so the header is still row 1
        delimiter = first_line.strip()[4]
        text = text.lstrip("\r\n").split("\n", 1)[1] if "\n" in text else ""
    else:
        delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise FileProblem(
            _("%(name)s could not be read as CSV: %(error)s", name=filename, error=exc)
        ) from exc
    return _table(records, "csv", filename, encoding=encoding, delimiter=delimiter)


def _read_xlsx(data: bytes, filename: str, kind: str) -> Table:
    from openpyxl import load_workbook

    not_workbook = FileProblem(
        _(
            "%(name)s is not a valid Excel workbook (.xlsx). Open it in Excel and save it "
            "again as .xlsx or CSV.",
            name=filename,
        )
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise not_workbook from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileProblem(_("%(name)s is too large once unpacked.", name=filename))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged or foreign archives
        raise not_workbook from exc
    try:
        sheets = list(workbook.sheetnames)
        wanted = normalise_label(kind)
        sheet_name = next((s for s in sheets if normalise_label(s) == wanted), sheets[0])
        records = [list(row) for row in workbook[sheet_name].iter_rows(values_only=True)]
    except Exception as exc:
        raise not_workbook from exc
    finally:
        workbook.close()
    table = _table(records, "xlsx", filename, sheet=sheet_name)
    table.sheets = sheets
    return table


def _is_blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _table(records: list[list[Any]], fmt: str, filename: str, **how: Any) -> Table:
    """Split records into the header (row 1) and the non-blank data rows."""
    if not records or all(_is_blank(c) for c in records[0]):
        raise FileProblem(
            _(
                "Row 1 of %(name)s is empty: the header (column names) must be on row 1.",
                name=filename,
            )
        )
    header = ["" if _is_blank(c) else str(c).strip() for c in records[0]]
    while header and header[-1] == "":
        header.pop()
    rows = [
        (number, cells)
        for number, cells in enumerate(records[1:], start=2)
        if not all(_is_blank(c) for c in cells)
    ]
    return Table(header=header, rows=rows, format=fmt, **how)
