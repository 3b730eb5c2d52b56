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

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis._threads import parallel

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

#: Years a cohort can have (four digits).
FIRST_YEAR, LAST_YEAR = 1000, 9999
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1
#: Floats beyond this are not exact integers any more.
_EXACT_FLOAT_INT = 2**53

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


def _object_text(values: np.ndarray) -> np.ndarray:
    """An object column (Python values, e.g. from a database) as text: None and NaN → ""."""
    missing = np.asarray(values == None, dtype=bool) | np.asarray(values != values, dtype=bool)  # noqa: E711
    return np.where(missing, "", values).astype(str)


def _as_text(values: np.ndarray) -> np.ndarray:
    """A text column as a NumPy unicode array (object and variable-width strings converted)."""
    if values.dtype.kind == "O":
        return _object_text(values)
    if values.dtype.kind in "ST":
        return values.astype(str)
    return values


def encode_text(column: Any, name: str, where: Where = row_label) -> tuple[IntArray, np.ndarray]:
    """Encode a text column as ``(codes, labels)`` with ``labels`` sorted; refuse empty cells.

    pandas categorical columns are taken through their codes (no strings materialised).
    """
    cat = getattr(column, "cat", None)
    if cat is not None:
        return encode_categories(np.asarray(cat.codes), cat.categories, name, where)
    values = np.asarray(column)
    if values.dtype.kind in "iu":
        uniq, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), uniq.astype(str)
    values = _as_text(values) if values.dtype.kind in "USOT" else values.astype(str)
    uniq, codes = _factorize(values)
    blank = np.char.str_len(np.char.strip(uniq)) == 0
    if blank.any():
        raise _fail(name, where, np.argmax(blank[codes]), "empty, expected a code")
    return codes.astype(np.int64).reshape(-1), uniq


def encode_categories(
    codes: np.ndarray, categories: Any, name: str, where: Where = row_label
) -> tuple[IntArray, np.ndarray]:
    """:func:`encode_text` of a categorical column given as its codes and categories."""
    if len(codes) and codes.min() < 0:
        raise _fail(name, where, int(np.argmax(codes < 0)), "empty, expected a code")
    categories = np.asarray(categories).astype(str)
    labels = categories
    if len(categories) > 1 and not bool(np.all(categories[1:] > categories[:-1])):
        order = np.argsort(categories, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        labels = categories[order]
        codes = rank[codes]
    else:  # categories already sorted (pandas sorts them when it infers them)
        codes = codes.astype(np.int64)
    blank = np.char.str_len(np.char.strip(labels)) == 0
    if blank.any():
        bad = np.flatnonzero(blank[codes])
        if len(bad):
            raise _fail(name, where, bad[0], "empty, expected a code")
    return codes, labels


def _factorize(values: np.ndarray) -> tuple[np.ndarray, IntArray]:
    """``np.unique(values, return_inverse=True)`` for a string array, faster on survey data.

    Sorting millions of strings is the slow part of encoding a text column, so strings are
    compared as few times as possible: rows of one response are usually adjacent, so runs of
    equal values are collapsed first (only the heads are coded), and the rest is coded by
    :func:`_hash_codes`.
    """
    n = len(values)
    if n < 4096 or values.dtype.kind != "U":
        uniq, codes = np.unique(values, return_inverse=True)
        return uniq, codes.reshape(-1)
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(values[1:], values[:-1], out=change[1:])
    heads = np.flatnonzero(change)
    if len(heads) <= n // 2:
        uniq, head_codes = _hash_codes(values[heads])
        return uniq, np.repeat(head_codes, np.diff(np.r_[heads, n]))
    return _hash_codes(values)


def _hash_codes(values: np.ndarray) -> tuple[np.ndarray, IntArray]:
    """Code a fixed-width string array by hashing each string's code points into one integer.

    Integer sorts are an order of magnitude faster than string sorts: the rows are grouped
    by hash, only the distinct strings are sorted, and every row is compared with its
    group's string, so a hash collision can never merge two values (then ``np.unique``).
    """
    n = len(values)
    width = values.dtype.itemsize // 4
    if n >= 4096 and width:
        points = np.ascontiguousarray(values).view(np.uint32).reshape(n, width)
        used = np.flatnonzero(points[:: max(1, n // 4096)].any(axis=0) | (np.arange(width) == 0))
        # padding columns that are zero in a sample may hold code points elsewhere: the
        # comparison below catches that (equal hashes, different strings) and falls back
        key = np.zeros(n, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in used:  # a polynomial hash of the code points, modulo 2**64
                key *= np.uint64(0x100000001B3)
                key += points[:, j]
        _, first, group = np.unique(key, return_index=True, return_inverse=True)
        group = group.reshape(-1)
        labels = values[first]
        if np.array_equal(labels[group], values):
            order = np.argsort(labels, kind="stable")
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            return labels[order], rank[group]
    uniq, codes = np.unique(values, return_inverse=True)
    return uniq, codes.reshape(-1)


def to_float(
    column: Any, name: str, where: Where = row_label, *, allow_empty: bool = True
) -> FloatArray:
    """A numeric column as float64 with NaN for empty cells (refused if not ``allow_empty``).

    Text is parsed once per distinct value (a score column of millions of rows has a dozen).
    """
    values = np.asarray(column)
    out = None
    if values.dtype.kind in "fiub":
        out = values.astype(np.float64)
    elif values.dtype.kind == "O":
        try:  # numbers and None from a database: one C loop
            out = values.astype(np.float64)
        except (TypeError, ValueError):
            values = _object_text(values)
    if out is None:
        uniq, codes = _factorize(_as_text(values))
        parsed = np.full(len(uniq), np.nan)
        for j, text in enumerate(uniq.tolist()):
            cell = text.strip()
            if not cell:
                continue
            try:
                number = float(cell)
            except ValueError:
                number = math.nan
            if number != number:  # not a number, or the text "nan"
                i = int(np.argmax(codes == j))
                raise _fail(name, where, i, f"{show(values[i])} is not a number")
            parsed[j] = number
        out = parsed[codes]
    if np.isinf(out).any():
        raise _fail(name, where, np.argmax(np.isinf(out)), "infinite, expected a finite number")
    if not allow_empty and np.isnan(out).any():
        raise _fail(name, where, np.argmax(np.isnan(out)), "empty, expected a number")
    return out


def to_int(column: Any, name: str, where: Where = row_label) -> IntArray:
    """An integer column (e.g. ``year``); refuses empty, non-integer and too large values.

    Text is checked once per distinct value: ASCII digits with an optional sign, within the
    range of a 64-bit integer.
    """
    values = np.asarray(column)
    if values.dtype.kind == "u" and len(values) and values.max() > _INT64_MAX:
        i = int(np.argmax(values > _INT64_MAX))
        raise _fail(name, where, i, f"{show(values[i])} is too large for an integer")
    if values.dtype.kind in "iub":
        return values.astype(np.int64)
    if values.dtype.kind in "USOT":
        text = _as_text(values)
        uniq, codes = _factorize(text)
        parsed = np.zeros(len(uniq), dtype=np.int64)
        for j, cell in enumerate(uniq.tolist()):
            cell = cell.strip()
            problem = None
            if not _INTEGER.fullmatch(cell):
                problem = "is not an integer"
            elif not -_INT64_MAX - 1 <= int(cell) <= _INT64_MAX:
                problem = "is too large for an integer"
            if problem:
                i = int(np.argmax(codes == j))
                raise _fail(name, where, i, f"{show(text[i])} {problem}")
            parsed[j] = int(cell)
        return parsed[codes]
    out = to_float(values, name, where, allow_empty=False)
    bad = out != np.floor(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(name, where, i, f"{show(out[i])} is not an integer")
    big = np.abs(out) > _EXACT_FLOAT_INT
    if big.any():
        i = int(np.argmax(big))
        raise _fail(name, where, i, f"{show(out[i])} is too large for an integer")
    return out.astype(np.int64)


def check_year(year: IntArray, where: Where = row_label) -> None:
    """Refuse years that are not four-digit (a 20-digit year is a typo, not a cohort)."""
    bad = (year < FIRST_YEAR) | (year > LAST_YEAR)
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(
            "year", where, i, f"{year[i]} is not a year between {FIRST_YEAR} and {LAST_YEAR}"
        )


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


def _numbers(
    table: Mapping[str, Any], where: Where
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """The year, score and scale columns, validated, and the POMP score."""
    year = to_int(table["year"], "year", where)
    check_year(year, where)
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
    pomp = score - smin
    pomp *= 100.0
    pomp /= smax - smin
    return year, score, smin, smax, pomp


def _row_order(
    table: Mapping[str, Any], where: Where
) -> tuple[dict[str, IntArray], dict[str, np.ndarray], IntArray]:
    """Codes and labels of the response, item and domain columns, and the row order that
    sorts the rows by (response, item), refusing an item twice in a response."""
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
    return codes, labels, order


def _per_response(
    name: str,
    column: Any,
    first: IntArray,
    row_response: IntArray,
    response_labels: np.ndarray,
    where: Where,
) -> tuple[IntArray, np.ndarray | None]:
    """A column with one value per response: the value of each response (encoded, with its
    labels, unless it is the year), refusing a response with two values."""
    cat = getattr(column, "cat", None)
    text = cat is None and np.asarray(column).dtype.kind in "USOT"
    labels = None
    if text or cat is not None:
        # check on the raw values (or a categorical's codes), then encode only the first row
        # of each response (sorting strings is the slow part of encoding)
        values = np.asarray(column) if text else np.asarray(cat.codes)
        if not text and len(values) and values.min() < 0:
            raise _fail(name, where, int(np.argmax(values < 0)), "empty, expected a code")
    elif name == "year":
        values = column
    else:
        values, labels = encode_text(column, name, where)
    at_first = values[first]
    bad = np.flatnonzero(values != at_first[row_response])
    if len(bad):
        i = int(bad[0])
        raise _fail(
            name,
            where,
            i,
            f"response {show(response_labels[row_response[i]])} has another "
            f"{name} on an earlier row; expected one value per response",
        )
    if text:
        at_first, labels = encode_text(at_first, name, lambda i: where(first[i]))
    elif cat is not None:
        at_first, labels = encode_categories(
            at_first, cat.categories, name, lambda i: where(first[i])
        )
    return at_first, labels


PER_RESPONSE = ("institution", "programme", "instrument", "subject_id", "rater_id", "year")


def encode_ratings(table: Mapping[str, Any], where: Where = row_label) -> Ratings:
    """Validate the ratings table and encode it (see :class:`Ratings`).

    The independent parts run on two threads (:mod:`analysis._threads`); an error is the one
    the parts would give run in order.
    """
    n = require_columns(table, RATINGS_COLUMNS, "ratings")
    if n == 0:
        raise ValueError("ratings: the table has no rows")
    (year, score, smin, smax, pomp), (codes, labels, order) = parallel(
        [lambda: _numbers(table, where), lambda: _row_order(table, where)]
    )
    n_resp = len(labels["response_id"])
    row_count = np.bincount(codes["response_id"], minlength=n_resp)
    row_start = np.r_[0, np.cumsum(row_count)[:-1]].astype(np.int64)
    first = order[row_start]  # rows are sorted by response first

    def per_response(name: str) -> Callable[[], tuple[IntArray, np.ndarray | None]]:
        column = year if name == "year" else table[name]
        return lambda: _per_response(
            name, column, first, codes["response_id"], labels["response_id"], where
        )

    # each unsorted row array is let go as soon as its sorted copy exists: the copies reuse
    # its memory instead of fresh pages
    unsorted = {"score": score, "pomp": pomp, "smin": smin, "smax": smax}
    unsorted |= {"domain": codes.pop("domain"), "item": codes.pop("item")}
    del score, pomp, smin, smax

    def in_order(name: str) -> Callable[[], np.ndarray]:
        return lambda: unsorted.pop(name)[order]

    row_arrays = ("score", "pomp", "smin", "smax", "domain", "item")
    *found, response, score, pomp, smin, smax, domain, item = parallel(
        [per_response(name) for name in PER_RESPONSE]
        + [lambda: codes["response_id"][order]]
        + [in_order(name) for name in row_arrays]
    )
    per_response_values = {}
    for name, (values, name_labels) in zip(PER_RESPONSE, found, strict=True):
        per_response_values[name] = values
        if name_labels is not None:
            labels[name] = name_labels
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
        item=item,
        score=score,
        pomp=pomp,
        scale_min=smin,
        scale_max=smax,
        row_start=row_start,
        row_count=row_count,
        institution=per_response_values["institution"],
        programme=per_response_values["programme"],
        instrument=per_response_values["instrument"],
        subject=per_response_values["subject_id"],
        rater=per_response_values["rater_id"],
        year=per_response_values["year"],
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
    check_year(out["year"], where)
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
    check_year(out["year"], where)
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
