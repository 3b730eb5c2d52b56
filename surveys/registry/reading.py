"""Reading an uploaded spreadsheet as a header and a stream of numbered rows, whatever its format.

CSV files come from many programs: UTF-8 with or without a byte-order mark, UTF-16 (Excel's
"Unicode text"), or Windows-1251 (what Russian-language Excel writes), separated by ``,``,
``;`` (Excel with a comma as decimal separator) or tabs. XLSX workbooks are read from the
sheet named after the import kind, or else the first sheet. Row numbers are the ones the user
sees in the spreadsheet: the header is row 1.

Rows are streamed, never held all at once: :meth:`Table.rows` decodes a CSV as it goes (the
csv module over a text wrapper of the bytes) and reads an XLSX sheet with openpyxl's
read-only mode, which parses the sheet's XML as it is iterated. A 50 MB sheet therefore
costs the memory of one row at a time (plus the workbook's shared strings), and can be read
twice (check, then write) without keeping anything in between.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from surveys.registry.columns import normalise_label

#: An XLSX may not unpack to more than this (a "zip bomb" would exhaust memory otherwise).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024

_DELIMITERS = (",", ";", "\t")


def _patch_openpyxl_sheet_size() -> None:
    """Find a read-only sheet's ``<dimension>`` in the head of its XML, as Excel writes it.

    openpyxl looks for it with ``iterparse``, which reports ``<sheetData>`` only once the
    whole element is parsed: a sheet without ``<dimension>`` (a crafted one; Excel,
    LibreOffice and openpyxl all write it) is parsed in full by ``load_workbook`` itself,
    before a single row is read and whatever the row limit. The same answer, from the first
    64 KB.
    """
    from openpyxl.reader import excel
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    pattern = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Za-z]{1,3}\d+(?::[A-Za-z]{1,3}\d+)?)\"")

    class HeadSizedReadOnlyWorksheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            with self._get_source() as source:
                head = source.read(65536)
            head = head.split(b"sheetData", 1)[0]
            match = pattern.search(head)
            if match is None:
                return
            try:
                bounds = range_boundaries(match.group(1).decode())
            except ValueError:
                return
            if all(bound is not None for bound in bounds):
                self._min_column, self._min_row, self._max_column, self._max_row = bounds

    if excel.ReadOnlyWorksheet is ReadOnlyWorksheet:
        excel.ReadOnlyWorksheet = HeadSizedReadOnlyWorksheet  # type: ignore[misc]


_patch_openpyxl_sheet_size()


def inline_string(node: Any) -> str:
    """The text of an inline string cell's ``<is>`` element, as openpyxl's
    ``Text.from_tree(node).content`` reads it: the plain ``<t>`` (the last one, if several),
    then the ``<t>`` of each rich-text run ``<r>`` in order; phonetic runs left out.

    openpyxl builds a descriptor-checked object tree for every such cell, which was a
    third of the time of reading a 100,000-row sheet written with inline strings (as
    openpyxl's own write-only mode and many report generators write them).
    """
    plain: str | None = None
    runs: list[str] = []
    for child in node:
        tag = child.tag.rpartition("}")[2]
        if tag == "t":
            plain = child.text
        elif tag == "r":
            text = None
            for part in child:
                if part.tag.rpartition("}")[2] == "t":
                    text = part.text
            if text is not None:
                runs.append(text)
    return "".join(runs) if plain is None else plain + "".join(runs)


def _patch_openpyxl_inline_strings() -> None:
    """Read inline string cells with :func:`inline_string` (same text, no object tree)."""
    from openpyxl.worksheet import _reader

    class InlineText:
        def __init__(self, content: str) -> None:
            self.content = content

        @classmethod
        def from_tree(cls, node: Any) -> InlineText:
            return cls(inline_string(node))

    _reader.Text = InlineText  # type: ignore[attr-defined]  # its one use: parse_cell


_patch_openpyxl_inline_strings()


class FileProblem(ValueError):
    """The file as a whole cannot be read (not a row problem); the message says why."""


Row = tuple[int, list[Any]]


@dataclass
class Table:
    """A file's header, how it was read, and a way to stream its data rows (any number of
    times). Reading a row may raise :class:`FileProblem` when the file is damaged further on."""

    header: list[str]
    format: str  #: ``csv`` or ``xlsx``
    _records: Callable[[], Iterator[list[Any]]]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    #: about how many data rows there are (for a progress bar), or None when unknown
    estimated_rows: int | None = None

    def rows(self) -> Iterator[Row]:
        """(row number as shown in the spreadsheet, cells) of every non-blank data row."""
        records = self._records()
        try:
            next(records)  # the header (row 1), already read
            for number, cells in enumerate(records, start=2):
                if not _is_blank_row(cells):
                    yield number, cells
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()


def read_table(data: bytes, filename: str, kind: str) -> Table:
    """Open ``data`` (the bytes of ``filename``) as CSV or XLSX and read its header.

    Raises :class:`FileProblem` for an empty file, an unreadable workbook, an old ``.xls``
    or an empty first row.
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
        return _open_xlsx(data, filename, kind)
    return _open_csv(data, filename)


def _encoding(data: bytes) -> str:
    """BOMs first, then UTF-8 (checked in pieces, nothing kept), then Windows-1251."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    step = 1 << 20
    try:
        for start in range(0, len(view), step):
            decoder.decode(view[start : start + step], final=start + step >= len(view))
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _text(data: bytes, encoding: str) -> io.TextIOWrapper:
    """A text stream over ``data``, decoded as it is read."""
    errors = "replace" if encoding == "cp1251" else "strict"
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline="")


def _open_csv(data: bytes, filename: str) -> Table:
    encoding = _encoding(data)
    not_csv = FileProblem(_("%(name)s is not a CSV file or an .xlsx workbook.", name=filename))
    if encoding != "utf-16" and b"\x00" in data:
        raise not_csv
    try:
        probe = _text(data, encoding)
        first_line = probe.readline()
        while first_line in ("\r\n", "\n", "\r"):
            first_line = probe.readline()
    except UnicodeError as exc:
        raise FileProblem(
            _("%(name)s is not readable text (save it as CSV UTF-8).", name=filename)
        ) from exc
    first_line = first_line.rstrip("\r\n")
    hint = first_line.lower().startswith("sep=") and len(first_line.strip()) == 5
    # Excel's own hint line ("sep=;"); Excel hides it, so the header is still row 1
    delimiter = first_line.strip()[4] if hint else max(_DELIMITERS, key=first_line.count)

    def records() -> Iterator[list[Any]]:
        stream = _text(data, encoding)
        if hint:  # skip blank lines and the hint line
            line = stream.readline()
            while line in ("\r\n", "\n", "\r"):
                line = stream.readline()
        try:
            for cells in csv.reader(stream, delimiter=delimiter):
                if encoding == "utf-16" and any("\x00" in c for c in cells):
                    raise not_csv
                yield cells
        except csv.Error as exc:
            raise FileProblem(
                _("%(name)s could not be read as CSV: %(error)s", name=filename, error=exc)
            ) from exc
        except UnicodeError as exc:
            raise FileProblem(
                _("%(name)s is not readable text (save it as CSV UTF-8).", name=filename)
            ) from exc

    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if encoding == "utf-16":
        lines = data.count("\n".encode("utf-16-le")) + 1
    table = _table(records, "csv", filename, encoding=encoding, delimiter=delimiter)
    table.estimated_rows = max(0, lines - 1 - int(hint))
    return table


def _open_xlsx(data: bytes, filename: str, kind: str) -> Table:
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

    def open_workbook():
        try:
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for damaged or foreign archives
            raise not_workbook from exc

    workbook = open_workbook()
    try:
        sheets = list(workbook.sheetnames)
        wanted = normalise_label(kind)
        sheet_name = next((s for s in sheets if normalise_label(s) == wanted), sheets[0])
        declared_rows = workbook[sheet_name].max_row  # the sheet's own <dimension>, if any
    except Exception as exc:
        raise not_workbook from exc
    finally:
        workbook.close()

    def records() -> Iterator[list[Any]]:
        book = open_workbook()
        try:
            sheet = book[sheet_name]
            # a wrong <dimension> (some programs write "A1") must not cut rows off
            sheet.reset_dimensions()
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        except FileProblem:
            raise
        except Exception as exc:  # damaged XML further down the sheet
            raise not_workbook from exc
        finally:
            book.close()

    table = _table(records, "xlsx", filename, sheet=sheet_name)
    table.sheets = sheets
    if isinstance(declared_rows, int) and declared_rows > 1:
        table.estimated_rows = declared_rows - 1
    return table


def _is_blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_blank_row(cells: list[Any]) -> bool:
    """Whether every cell is blank (a loop, not ``all()`` over a generator: the first
    cell of a data row is nearly always filled, and this runs for every row)."""
    for cell in cells:
        if cell is not None and (not isinstance(cell, str) or cell.strip()):
            return False
    return True


def _table(
    records: Callable[[], Iterator[list[Any]]], fmt: str, filename: str, **how: Any
) -> Table:
    """Read the header (row 1) from ``records``; the data rows stay in the file."""
    stream = records()
    try:
        first = next(stream, None)
    finally:
        stream.close()
    if first is None or all(_is_blank(c) for c in first):
        raise FileProblem(
            _(
                "Row 1 of %(name)s is empty: the header (column names) must be on row 1.",
                name=filename,
            )
        )
    header = ["" if _is_blank(c) else str(c).strip() for c in first]
    while header and header[-1] == "":
        header.pop()
    return Table(header=header, format=fmt, _records=records, **how)
