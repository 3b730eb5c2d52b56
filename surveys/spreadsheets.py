"""Cells that are safe to open in a spreadsheet (every CSV/XLSX export goes through here)."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

#: Leading characters that make Excel or LibreOffice treat text as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text starting with ``= + - @`` gets a ``'``.

    Without it a name such as ``=HYPERLINK(...)`` in an exported file would run as a formula
    (CSV injection). Numbers and dates are left alone.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(
    output: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, stdout: IO[str]
) -> int:
    """Write ``header`` and ``rows`` as CSV (UTF-8, no BOM) to the file ``output`` or, for
    ``-``, to ``stdout``; returns the number of rows.

    Empty values (None) are empty cells and text cells that look like formulas are
    neutralised. A file is written beside its target and renamed into place, so an
    interrupted export never leaves half a file.
    """
    if output == "-":
        return write_rows(stdout, header, rows)
    target = Path(output)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent.resolve()
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = write_rows(stream, header, rows)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def write_rows(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``header`` and ``rows`` to ``stream`` as CSV, formulas neutralised; the row count."""
    writer = csv.writer(stream)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else neutralise_formula(v) for v in row])
        count += 1
    return count
