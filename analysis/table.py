"""Validation and encoding of the input tables (ratings, invited, outcomes).

A table is any mapping of column name to a 1-D sequence: a ``dict`` of NumPy arrays, a pandas
``DataFrame`` (categorical columns are used through their codes, without materialising the
strings), or the result of :func:`analysis.read_ratings_csv`. Text columns are encoded as
integer codes into sorted labels, so everything downstream is integer arithmetic and the
result does not depend on the order of the rows.

Every error is a ``ValueError`` naming the column, the first offending row and what was
expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

RATINGS_COLUMNS = (
    "institution",
    "programme",
    "year",
    "instrument",
    "response_id",
    "subject_id",
    "rater_id",
    "domain",
    "item",
    "score",
    "scale_min",
    "scale_max",
)
INVITED_COLUMNS = ("institution", "programme", "year", "instrument", "invited")
OUTCOMES_COLUMNS = (
    "institution",
    "programme",
    "year",
    "subject_id",
    "employed",
    "months_to_employment",
    "retained_12m",
    "partner_employer",
)
#: Reserved domains of the ratings table: not competency domains.
OVERALL = "overall"
RECOMMEND = "recommend"

Where = Callable[[int], str]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def row_label(i: int) -> str:
    """How a row of an in-memory table is named in messages (1 = first data row)."""
    return f"row {i + 1}"


def show(value: object) -> str:
    """A cell value in a message: text quoted, numbers plain (no NumPy reprs)."""
    if isinstance(value, (str, np.str_)):
        return repr(str(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(value)


def _fail(name: str, where: Where, i: int, message: str) -> ValueError:
    return ValueError(f"column {name!r}, {where(int(i))}: {message}")


def require_columns(table: Mapping[str, Any], columns: tuple[str, ...], what: str) -> int:
    """Check that every column is present and that all have one length; return it."""
    if not isinstance(table, Mapping) and not hasattr(table, "columns"):
        raise ValueError(f"{what} must be a mapping of column name to values")
    present = set(table.keys())
    for name in columns:
        if name not in present:
            raise ValueError(
                f"column {name!r}: missing from the {what} table "
                f"(expected columns: {', '.join(columns)})"
            )
    lengths = {name: len(table[name]) for name in columns}
    n = lengths[columns[0]]
    for name, length in lengths.items():
        if length != n:
            raise ValueError(
                f"column {name!r}: has {length} values but column {show(columns[0])} has {n}"
            )
    return n


def _is_empty(values: np.ndarray) -> NDArray[np.bool_]:
    """Empty cells of a text or object column: None, NaN or blank strings."""
    if values.dtype.kind in "US":
        return np.char.str_len(np.char.strip(values)) == 0
    if values.dtype.kind == "T":
        return np.strings.str_len(np.strings.strip(values)) == 0
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.fromiter(
            (
                v is None
                or (isinstance(v, float) and v != v)
                or (isinstance(v, str) and not v.strip())
                for v in values
            ),
            dtype=bool,
            count=len(values),
        )
    return np.zeros(len(values), dtype=bool)


def encode_text(column: Any, name: str, where: Where = row_label) -> tuple[IntArray, np.ndarray]:
    """Encode a text column as ``(codes, labels)`` with ``labels`` sorted; refuse empty cells.

    pandas categorical columns are taken through their codes (no strings materialised).
    """
    cat = getattr(column, "cat", None)
    if cat is not None:
        codes = np.asarray(cat.codes, dtype=np.int64)
        categories = np.asarray(cat.categories).astype(str)
        if len(codes) and codes.min() < 0:
            raise _fail(name, where, int(np.argmax(codes < 0)), "empty, expected a code")
        order = np.argsort(categories, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        labels = categories[order]
        blank = np.char.str_len(np.char.strip(labels)) == 0
        if blank.any():
            bad = np.flatnonzero(blank[rank[codes]])
            if len(bad):
                raise _fail(name, where, bad[0], "empty, expected a code")
        return rank[codes], labels
    values = np.asarray(column)
    if values.dtype.kind in "iu":
        uniq, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), uniq.astype(str)
    if values.dtype.kind not in "USOT":
        values = values.astype(str)
    if values.dtype.kind in "OT":
        empty = _is_empty(values)
        if empty.any():
            raise _fail(name, where, np.argmax(empty), "empty, expected a code")
        values = values.astype(str)
    uniq, codes = _factorize(values)
    blank = np.char.str_len(np.char.strip(uniq)) == 0
    if blank.any():
        raise _fail(name, where, np.argmax(blank[codes]), "empty, expected a code")
    return codes.astype(np.int64).reshape(-1), uniq


def _factorize(values: np.ndarray) -> tuple[np.ndarray, IntArray]:
    """``np.unique(values, return_inverse=True)`` for a string array, faster on survey data.

    Rows of one response are usually adjacent, so runs of equal values are collapsed first;
    and columns with few distinct values (items, domains) are coded by binary search in the
    distinct values of a sample, verified against every row. Falls back to ``np.unique``.
    """
    n = len(values)
    if n < 4096:
        uniq, codes = np.unique(values, return_inverse=True)
        return uniq, codes.reshape(-1)
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(values[1:], values[:-1], out=change[1:])
    heads = np.flatnonzero(change)
    if len(heads) <= n // 2:
        uniq, head_codes = np.unique(values[heads], return_inverse=True)
        return uniq, np.repeat(head_codes.reshape(-1), np.diff(np.r_[heads, n]))
    sample = np.unique(values[:: max(1, n // 65536)])
    if len(sample) <= 4096:
        pos = np.minimum(np.searchsorted(sample, values), len(sample) - 1)
        if np.array_equal(sample[pos], values):
            return sample, pos.astype(np.int64)
    uniq, codes = np.unique(values, return_inverse=True)
    return uniq, codes.reshape(-1)


def to_float(
    column: Any, name: str, where: Where = row_label, *, allow_empty: bool = True
) -> FloatArray:
    """A numeric column as float64 with NaN for empty cells (refused if not ``allow_empty``)."""
    values = np.asarray(column)
    if values.dtype.kind in "fiub":
        out = values.astype(np.float64)
    else:
        empty = _is_empty(values)
        out = np.full(len(values), np.nan)
        filled = np.flatnonzero(~empty)
        try:
            out[filled] = values[filled].astype(np.float64)
        except (TypeError, ValueError):
            for i in filled:
                try:
                    float(values[i])
                except (TypeError, ValueError):
                    raise _fail(name, where, i, f"{show(values[i])} is not a number") from None
    if np.isinf(out).any():
        raise _fail(name, where, np.argmax(np.isinf(out)), "infinite, expected a finite number")
    if not allow_empty and np.isnan(out).any():
        raise _fail(name, where, np.argmax(np.isnan(out)), "empty, expected a number")
    return out


def to_int(column: Any, name: str, where: Where = row_label) -> IntArray:
    """An integer column (e.g. ``year``); refuses empty and non-integer values."""
    values = np.asarray(column)
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind in "USOT":
        for i, v in enumerate(values):
            s = str(v).strip() if v is not None else ""
            if not s.lstrip("+-").isdigit():
                raise _fail(name, where, i, f"{show(v)} is not an integer")
        return values.astype(str).astype(np.int64)
    out = to_float(values, name, where, allow_empty=False)
    bad = out != np.floor(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(name, where, i, f"{show(out[i])} is not an integer")
    return out.astype(np.int64)


def check_binary(values: FloatArray, name: str, where: Where = row_label) -> None:
    """Refuse anything but 0, 1 or empty."""
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(name, where, i, f"{show(values[i])} is not 1, 0 or empty")


@dataclass(frozen=True)
class Ratings:
    """The ratings table, validated, encoded and sorted by (response, item).

    Row arrays (one element per rating row, sorted): ``response``, ``domain``, ``item``
    (codes), ``score``, ``pomp`` (NaN when empty), ``scale_min``, ``scale_max``.
    Response arrays (one per response, index = response code): ``institution``,
    ``programme``, ``instrument``, ``subject``, ``rater`` (codes), ``year``; ``row_start``
    and ``row_count`` locate each response's rows.
    """

    labels: dict[str, np.ndarray]
    response: IntArray
    domain: IntArray
    item: IntArray
    score: FloatArray
    pomp: FloatArray
    scale_min: FloatArray
    scale_max: FloatArray
    row_start: IntArray
    row_count: IntArray
    institution: IntArray
    programme: IntArray
    instrument: IntArray
    subject: IntArray
    rater: IntArray
    year: IntArray

    @property
    def n_responses(self) -> int:
        return len(self.row_start)


def encode_ratings(table: Mapping[str, Any], where: Where = row_label) -> Ratings:
    """Validate the ratings table and encode it (see :class:`Ratings`)."""
    n = require_columns(table, RATINGS_COLUMNS, "ratings")
    if n == 0:
        raise ValueError("ratings: the table has no rows")
    year = to_int(table["year"], "year", where)
    score = to_float(table["score"], "score", where, allow_empty=True)
    smin = to_float(table["scale_min"], "scale_min", where, allow_empty=False)
    smax = to_float(table["scale_max"], "scale_max", where, allow_empty=False)
    for name, arr in (("scale_min", smin), ("scale_max", smax)):
        bad = arr != np.floor(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise _fail(name, where, i, f"{show(arr[i])} is not an integer")
    bad = smin >= smax
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(
            "scale_min", where, i, f"scale_min {smin[i]:g} must be below scale_max {smax[i]:g}"
        )
    bad = ~np.isnan(score) & ((score < smin) | (score > smax))
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(
            "score",
            where,
            i,
            f"{score[i]:g} is outside the item's scale [{smin[i]:g}, {smax[i]:g}]",
        )
    codes: dict[str, IntArray] = {}
    labels: dict[str, np.ndarray] = {}
    for name in ("response_id", "item", "domain"):
        codes[name], labels[name] = encode_text(table[name], name, where)

    # Sort once by (response, item): canonical order, so results never depend on row order.
    n_items = len(labels["item"])
    key = codes["response_id"] * n_items + codes["item"]
    order = np.argsort(key, kind="stable")
    skey = key[order]
    dup = np.flatnonzero(skey[1:] == skey[:-1]) + 1
    if len(dup):
        i = int(order[dup].min())
        raise _fail(
            "item",
            where,
            i,
            f"item {show(labels['item'][codes['item'][i]])} appears twice in response "
            f"{show(labels['response_id'][codes['response_id'][i]])}; expected one row per "
            "(response, item)",
        )
    response = codes["response_id"][order]
    n_resp = len(labels["response_id"])
    row_count = np.bincount(response, minlength=n_resp)
    row_start = np.r_[0, np.cumsum(row_count)[:-1]].astype(np.int64)
    first = order[row_start]
    per_response: dict[str, IntArray] = {}
    for name in ("institution", "programme", "instrument", "subject_id", "rater_id", "year"):
        column = year if name == "year" else table[name]
        text = getattr(column, "cat", None) is None and np.asarray(column).dtype.kind in "USOT"
        if text:
            # one value per response: check on the raw values, then encode only the first
            # row of each response (sorting strings is the slow part of encoding)
            values = np.asarray(column)
        else:
            values, labels[name] = (
                (year, None) if name == "year" else encode_text(column, name, where)
            )
        at_first = values[first]
        bad = np.flatnonzero(values != at_first[codes["response_id"]])
        if text and not len(bad):
            at_first, labels[name] = encode_text(at_first, name, lambda i: where(first[i]))
        if len(bad):
            i = int(bad[0])
            raise _fail(
                name,
                where,
                i,
                f"response {show(labels['response_id'][codes['response_id'][i]])} has another "
                f"{name} on an earlier row; expected one value per response",
            )
        per_response[name] = at_first
    score = score[order]
    smin = smin[order]
    smax = smax[order]
    pomp = 100.0 * (score - smin) / (smax - smin)
    domain = codes["domain"][order]
    domain_labels = labels["domain"]
    rec = np.flatnonzero(domain_labels == RECOMMEND)
    if len(rec):
        bad = np.flatnonzero((domain == rec[0]) & ((smin != 0) | (smax != 10)))
        if len(bad):
            i = int(order[bad].min())
            raise _fail(
                "scale_max",
                where,
                i,
                "the 'recommend' item must be on the 0-10 scale "
                f"(got {smin[bad[0]]:g}-{smax[bad[0]]:g})",
            )
    return Ratings(
        labels={
            "institution": labels["institution"],
            "programme": labels["programme"],
            "instrument": labels["instrument"],
            "domain": domain_labels,
            "item": labels["item"],
            "subject_id": labels["subject_id"],
            "rater_id": labels["rater_id"],
            "response_id": labels["response_id"],
        },
        response=response,
        domain=domain,
        item=codes["item"][order],
        score=score,
        pomp=pomp,
        scale_min=smin,
        scale_max=smax,
        row_start=row_start,
        row_count=row_count,
        institution=per_response["institution"],
        programme=per_response["programme"],
        instrument=per_response["instrument"],
        subject=per_response["subject_id"],
        rater=per_response["rater_id"],
        year=per_response["year"],
    )


def _text_plain(column: Any, name: str, where: Where) -> np.ndarray:
    codes, labels = encode_text(column, name, where)
    return labels[codes]


def validate_invited(table: Mapping[str, Any], where: Where = row_label) -> dict[str, np.ndarray]:
    """Validate the invited table; return plain columns (text as str, year/invited as int)."""
    n = require_columns(table, INVITED_COLUMNS, "invited")
    out: dict[str, np.ndarray] = {}
    for name in ("institution", "programme", "instrument"):
        out[name] = _text_plain(table[name], name, where) if n else np.array([], dtype=str)
    out["year"] = to_int(table["year"], "year", where) if n else np.array([], dtype=np.int64)
    invited = to_int(table["invited"], "invited", where) if n else np.array([], dtype=np.int64)
    bad = invited < 1
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail("invited", where, i, f"{invited[i]} is not a positive number of invitations")
    out["invited"] = invited
    key = np.char.add(
        np.char.add(np.char.add(out["institution"], "\x1f"), out["programme"]),
        np.char.add(
            np.char.add("\x1f", out["instrument"]), np.char.add("\x1f", out["year"].astype(str))
        ),
    )
    _refuse_duplicates(
        key, "programme", where, "one row per (institution, programme, year, instrument)"
    )
    return out


def validate_outcomes(table: Mapping[str, Any], where: Where = row_label) -> dict[str, np.ndarray]:
    """Validate the outcomes table; return plain columns (binary ones as 1.0/0.0/NaN)."""
    n = require_columns(table, OUTCOMES_COLUMNS, "outcomes")
    out: dict[str, np.ndarray] = {}
    for name in ("institution", "programme", "subject_id"):
        out[name] = _text_plain(table[name], name, where) if n else np.array([], dtype=str)
    out["year"] = to_int(table["year"], "year", where) if n else np.array([], dtype=np.int64)
    for name in ("employed", "retained_12m", "partner_employer"):
        out[name] = to_float(table[name], name, where)
        check_binary(out[name], name, where)
    months = to_float(table["months_to_employment"], "months_to_employment", where)
    bad = months < 0
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail("months_to_employment", where, i, f"{months[i]:g} is negative")
    out["months_to_employment"] = months
    key = np.char.add(
        np.char.add(np.char.add(out["institution"], "\x1f"), out["programme"]),
        np.char.add(
            np.char.add("\x1f", out["subject_id"]), np.char.add("\x1f", out["year"].astype(str))
        ),
    )
    _refuse_duplicates(key, "subject_id", where, "one row per graduate")
    return out


def _joined(*columns: np.ndarray) -> np.ndarray:
    """Row keys joining several columns with a separator that cannot occur in codes."""
    key = np.asarray(columns[0]).astype(str)
    for col in columns[1:]:
        key = np.char.add(np.char.add(key, "\x1f"), np.asarray(col).astype(str))
    return key


def _refuse_duplicates(key: np.ndarray, name: str, where: Where, expected: str) -> None:
    if len(key) < 2:
        return
    order = np.argsort(key, kind="stable")
    sk = key[order]
    dup = np.flatnonzero(sk[1:] == sk[:-1]) + 1
    if len(dup):
        i = int(order[dup].min())
        raise _fail(name, where, i, f"duplicate row; expected {expected}")
