"""Reading the input tables from CSV (UTF-8, with or without a byte-order mark)."""

from __future__ import annotations

import csv
from os import PathLike
from pathlib import Path

import numpy as np

from analysis.table import (
    INVITED_COLUMNS,
    OUTCOMES_COLUMNS,
    RATINGS_COLUMNS,
    encode_ratings,
    to_float,
    to_int,
    validate_invited,
    validate_outcomes,
)

__all__ = ["read_invited_csv", "read_outcomes_csv", "read_ratings_csv"]

_TEXT = {"institution", "programme", "instrument", "response_id", "subject_id", "rater_id"}
_TEXT |= {"domain", "item"}


def _read(path: str | PathLike[str], columns: tuple[str, ...], what: str):
    """Raw text columns, and a function naming row ``i`` with its line in the file."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValueError(f"{what}: cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{what}: {path} is empty, expected a header line")
            header = [h.strip() for h in header]
            for name in columns:
                if name not in header:
                    raise ValueError(
                        f"column {name!r}: missing from {path} "
                        f"(expected columns: {', '.join(columns)})"
                    )
            index = [header.index(name) for name in columns]
            raw: list[list[str]] = [[] for _ in columns]
            lines: list[int] = []
            width = len(header)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != width:
                    raise ValueError(
                        f"{what}: line {reader.line_num} of {path} has {len(row)} fields, "
                        f"expected {width} as in the header"
                    )
                for j, k in enumerate(index):
                    raw[j].append(row[k].strip())
                lines.append(reader.line_num)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what}: {path} is not UTF-8 ({exc.reason})") from None
        except csv.Error as exc:
            raise ValueError(f"{what}: {path}: {exc}") from None
    line_of = np.asarray(lines)

    def where(i: int) -> str:
        return f"row {i + 1} (line {line_of[i]})"

    return {name: np.array(raw[j], dtype=str) for j, name in enumerate(columns)}, where


def read_ratings_csv(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    """Read and validate a ratings CSV (the canonical table).

    Returns
    -------
    dict of column name to NumPy array
        Text columns as ``str`` arrays, ``year``/``scale_min``/``scale_max`` as int64,
        ``score`` as float64 with NaN for an empty cell (not applicable / cannot judge).

    Raises
    ------
    ValueError
        Naming the column, the first offending row (and its line in the file) and what was
        expected: a missing column, a score outside ``[scale_min, scale_max]``,
        ``scale_min >= scale_max``, a non-integer year, the same (response, item) twice.
    """
    raw, where = _read(path, RATINGS_COLUMNS, "ratings")
    out: dict[str, np.ndarray] = {k: v for k, v in raw.items() if k in _TEXT}
    out["year"] = to_int(raw["year"], "year", where)
    out["score"] = to_float(raw["score"], "score", where)
    out["scale_min"] = to_int(raw["scale_min"], "scale_min", where)
    out["scale_max"] = to_int(raw["scale_max"], "scale_max", where)
    out = {name: out[name] for name in RATINGS_COLUMNS}
    encode_ratings(out, where)  # every check, with line numbers
    return out


def read_invited_csv(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    """Read and validate an invited CSV: ``institution, programme, year, instrument, invited``."""
    raw, where = _read(path, INVITED_COLUMNS, "invited")
    return validate_invited(raw, where)


def read_outcomes_csv(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    """Read and validate an outcomes CSV (one row per graduate).

    ``employed``, ``retained_12m`` and ``partner_employer`` are 1, 0 or empty (unknown);
    ``months_to_employment`` a non-negative number or empty.
    """
    raw, where = _read(path, OUTCOMES_COLUMNS, "outcomes")
    return validate_outcomes(raw, where)
