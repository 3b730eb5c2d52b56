"""Every bad input file is either computed or refused with a clear message, never a traceback.

Hypothesis mutates small valid ratings / invited / outcomes files — one cell replaced by a
hostile value (20-digit numbers, ``nan``, ``1e400``, full-width or superscript digits, formula
text, blanks), a column dropped, a row repeated or cut short — and runs ``hamkor indicators``
on them. The answer must be records (exit 0) or a ``ValueError`` naming a column or a line
(exit 2 with ``Error:``), nothing else.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import compute_indicators, read_invited_csv, read_outcomes_csv, read_ratings_csv
from analysis.cli import indicators
from analysis.table import INVITED_COLUMNS, OUTCOMES_COLUMNS, RATINGS_COLUMNS

HOSTILE = [
    "",
    " ",
    "99999999999999999999",
    "-99999999999999999999",
    "18446744073709551616",
    "1e400",
    "-1e400",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1.5",
    "2024.0",
    " 2024 ",
    "0x10",
    "1_000",
    "１２",  # full-width digits
    "²",  # a superscript: str.isdigit() says yes, int() says no
    "٣",  # Arabic-Indic three
    "+",
    "-",
    "-0",
    "0",
    "10000",
    "=1+1",
    "@SUM(A1)",
    "a,b",
    '"',
    "élève",
    "None",
    "null",
]
CLEAR = re.compile(r"column '\w+'|line \d+|^(ratings|invited|outcomes): ")


def _ratings_rows() -> list[list[str]]:
    rows = []
    for r in range(12):
        programme = "P1" if r < 7 else "P2"
        year = "2024" if r % 2 else "2025"
        for item, domain, low, high in (
            ("k1", "knowledge", 1, 5),
            ("k2", "knowledge", 1, 5),
            ("s1", "skills", 1, 5),
            ("o", "overall", 1, 5),
            ("r", "recommend", 0, 10),
        ):
            score = str(low + (r * 7 + len(item)) % (high - low + 1))
            rows.append(
                [
                    "U1",
                    programme,
                    year,
                    "attestation",
                    f"R{r}",
                    f"G{r % 9}",
                    f"E{r % 4}",
                    domain,
                    item,
                    score,
                    str(low),
                    str(high),
                ]
            )
    return rows


VALID = {
    "ratings": (RATINGS_COLUMNS, _ratings_rows()),
    "invited": (
        INVITED_COLUMNS,
        [["U1", p, y, "attestation", "10"] for p in ("P1", "P2") for y in ("2024", "2025")],
    ),
    "outcomes": (
        OUTCOMES_COLUMNS,
        [
            ["U1", "P1" if g < 6 else "P2", "2025", f"G{g}", str(g % 2), str(g), "1", "0"]
            for g in range(10)
        ],
    ),
}


def _csv(header, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def mutated(draw):
    files = {kind: (list(h), [list(r) for r in rows]) for kind, (h, rows) in VALID.items()}
    kind = draw(st.sampled_from(sorted(files)))
    header, rows = files[kind]
    how = draw(st.sampled_from(["cell", "cell", "cell", "text", "drop", "repeat", "short"]))
    row = draw(st.integers(0, len(rows) - 1))
    col = draw(st.integers(0, len(header) - 1))
    if how == "cell":
        rows[row][col] = draw(st.sampled_from(HOSTILE))
    elif how == "text":
        rows[row][col] = draw(st.text(max_size=8))
    elif how == "drop":
        header.pop(col)
        for r in rows:
            r.pop(col)
    elif how == "repeat":
        rows.append(list(rows[row]))
    else:
        rows[row] = rows[row][:col]
    return {k: _csv(h, r) for k, (h, r) in files.items()}, f"{how} {kind}"


def _write(tmp: Path, texts: dict[str, str]) -> dict[str, str]:
    paths = {}
    for kind, text in texts.items():
        path = tmp / f"{kind}.csv"
        path.write_text(text, encoding="utf-8", newline="")
        paths[kind] = str(path)
    return paths


def test_the_valid_files_compute(tmp_path):
    paths = _write(tmp_path, {k: _csv(h, r) for k, (h, r) in VALID.items()})
    records = compute_indicators(
        read_ratings_csv(paths["ratings"]),
        invited=read_invited_csv(paths["invited"]),
        outcomes=read_outcomes_csv(paths["outcomes"]),
    )
    assert {r.indicator for r in records} >= {"responses", "response_rate", "employment_rate"}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated())
def test_bad_files_are_computed_or_refused_clearly(tmp_path, case):
    texts, what = case
    paths = _write(tmp_path, texts)
    try:
        compute_indicators(
            read_ratings_csv(paths["ratings"]),
            invited=read_invited_csv(paths["invited"]),
            outcomes=read_outcomes_csv(paths["outcomes"]),
        )
    except ValueError as exc:
        assert CLEAR.search(str(exc)), f"{what}: unclear message {exc!r}"
    # and the command line says the same, without a traceback
    result = CliRunner().invoke(
        indicators,
        [
            *("--input", paths["ratings"], "--invited", paths["invited"]),
            *("--outcomes", paths["outcomes"], "--format", "csv"),
        ],
    )
    assert result.exit_code in (0, 2), f"{what}: {result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.startswith("Error: ") and CLEAR.search(result.output)


@pytest.mark.parametrize("column", ["year", "scale_min", "scale_max"])
def test_a_20_digit_number_is_a_clear_error(tmp_path, column):
    header, rows = VALID["ratings"]
    rows = [list(r) for r in rows]
    rows[3][RATINGS_COLUMNS.index(column)] = "99999999999999999999"
    path = tmp_path / "ratings.csv"
    path.write_text(_csv(header, rows), encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        read_ratings_csv(path)
    assert str(refused.value) == (
        f"column '{column}', row 4 (line 5): '99999999999999999999' is too large for an integer"
    )
