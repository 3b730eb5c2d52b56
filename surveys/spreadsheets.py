"""Cells that are safe to open in a spreadsheet (every CSV/XLSX export goes through here)."""

from __future__ import annotations

from typing import Any

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
