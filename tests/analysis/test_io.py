"""Reading the CSV tables: UTF-8 with or without BOM, and precise refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis import compute_indicators, read_invited_csv, read_outcomes_csv, read_ratings_csv
from analysis.table import OUTCOMES_COLUMNS, RATINGS_COLUMNS

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HEADER = ",".join(RATINGS_COLUMNS)


def _write(tmp_path, lines, *, bom=False, name="r.csv"):
    path = tmp_path / name
    data = "\n".join(lines) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


ROWS = [
    HEADER,
    "Oʻzbekiston DU,Iqtisodiyot,2025,attestation,R1,G1,E1,skills,s1,4,1,5",
    "Oʻzbekiston DU,Iqtisodiyot,2025,attestation,R1,G1,E1,skills,s2,,1,5",
    "Oʻzbekiston DU,Iqtisodiyot,2025,attestation,R2,G2,E2,skills,s1,5,1,5",
]


@pytest.mark.parametrize("bom", [False, True])
def test_reads_utf8_with_or_without_bom(tmp_path, bom):
    table = read_ratings_csv(_write(tmp_path, ROWS, bom=bom))
    assert list(table) == HEADER.split(",")
    assert table["institution"][0] == "Oʻzbekiston DU"
    assert table["year"].dtype == np.int64
    assert np.isnan(table["score"][1]) and table["score"][0] == 4.0


def test_examples_read_and_compute():
    records = compute_indicators(
        read_ratings_csv(EXAMPLES / "ratings.csv"),
        invited=read_invited_csv(EXAMPLES / "invited.csv"),
        outcomes=read_outcomes_csv(EXAMPLES / "outcomes.csv"),
    )
    assert {r.institution for r in records} == {"U000", "U001"}


@pytest.mark.parametrize(
    "line,message",
    [
        (
            "U,P,2025,a,R3,G3,E3,skills,s1,6,1,5",
            r"column 'score', row 4 \(line 5\): 6 is outside the item's scale \[1, 5\]",
        ),
        (
            "U,P,2025,a,R3,G3,E3,skills,s1,3,5,5",
            r"column 'scale_min', row 4 \(line 5\): scale_min 5 must be below scale_max 5",
        ),
        (
            "U,P,2025.5,a,R3,G3,E3,skills,s1,3,1,5",
            r"column 'year', row 4 \(line 5\): '2025.5' is not an integer",
        ),
        (
            "U,P,2025,a,R2,G2,E2,skills,s1,3,1,5",
            r"column 'item', row 4 \(line 5\): item 's1' appears twice in response 'R2'",
        ),
        (
            "U,P,2025,a,R3,G3,E3,skills,s1,x,1,5",
            r"column 'score', row 4 \(line 5\): 'x' is not a number",
        ),
        ("U,P,2025,a,R3,G3,E3,skills,s1", r"line 5 of .* has 9 fields, expected 12"),
    ],
)
def test_bad_rows_name_column_row_and_line(tmp_path, line, message):
    with pytest.raises(ValueError, match=message):
        read_ratings_csv(_write(tmp_path, [*ROWS, line]))


def test_missing_column(tmp_path):
    lines = [",".join(HEADER.split(",")[:-1])] + [r.rsplit(",", 1)[0] for r in ROWS[1:]]
    with pytest.raises(ValueError, match=r"column 'scale_max': missing from .*r.csv"):
        read_ratings_csv(_write(tmp_path, lines))


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "\nU,P,2025,a,R1,G1,E1,skills,s1,4,1,5,\xe9\n").encode("latin-1"))
    with pytest.raises(ValueError, match="is not UTF-8"):
        read_ratings_csv(path)


def test_invited_and_outcomes_are_validated(tmp_path):
    p = _write(
        tmp_path, ["institution,programme,year,instrument,invited", "U,P,2025,a,0"], name="i.csv"
    )
    with pytest.raises(
        ValueError, match=r"column 'invited', row 1 \(line 2\): 0 is not a positive number"
    ):
        read_invited_csv(p)
    head = ",".join(OUTCOMES_COLUMNS)
    p = _write(tmp_path, [head, "U,P,2025,G1,1,-2,1,0"], name="o.csv")
    with pytest.raises(
        ValueError, match=r"column 'months_to_employment', row 1 \(line 2\): -2 is negative"
    ):
        read_outcomes_csv(p)
    p = _write(tmp_path, [head, "U,P,2025,G1,1,2,1,0", "U,P,2025,G1,0,,,"], name="o2.csv")
    with pytest.raises(
        ValueError,
        match=r"column 'subject_id', row 2 \(line 3\): duplicate row; expected one row per "
        "graduate",
    ):
        read_outcomes_csv(p)


@pytest.mark.parametrize("kind", ["runs", "few", "many"])
def test_fast_factorize_equals_numpy_unique(kind):
    from analysis.table import _factorize

    rng = np.random.default_rng(0)
    n = 20_000
    if kind == "runs":
        values = np.repeat(np.array([f"R{i:05d}" for i in rng.permutation(1000)]), 20)
    elif kind == "few":
        values = np.array(["know1", "skil2", "comm1", "Ünïcode"])[rng.integers(0, 4, n)]
        values[-1] = "rare"  # not in the sample: must fall back, not mis-code
    else:
        values = np.array([f"G{i}" for i in rng.integers(0, 15_000, n)])
    uniq, codes = _factorize(values)
    ref_uniq, ref_codes = np.unique(values, return_inverse=True)
    assert np.array_equal(uniq, ref_uniq) and np.array_equal(codes, ref_codes.reshape(-1))


@pytest.mark.parametrize("distinct", [3, 50, 20_000])
def test_text_columns_are_coded_as_np_unique_codes_them(distinct):
    """The fast coding of text columns (runs, hashed code points) equals ``np.unique``."""
    from analysis.table import _factorize

    rng = np.random.default_rng(distinct)
    words = np.array([f"w{i}" * (1 + i % 3) for i in range(distinct)] + ["ünï", "x" * 30])
    values = words[rng.integers(0, len(words), 50_000)]
    values[-1] = "x" * 30 + "y"  # longer than anything in the sampled padding columns
    for column in (values, np.sort(values)):  # scattered, and in runs
        uniq, codes = _factorize(column)
        want_uniq, want_codes = np.unique(column, return_inverse=True)
        assert np.array_equal(uniq, want_uniq)
        assert np.array_equal(codes, want_codes.reshape(-1))
