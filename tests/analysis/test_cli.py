"""``hamkor indicators``: CSV in, table / JSON / CSV out, no database."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis import compute_indicators, read_invited_csv, read_outcomes_csv, read_ratings_csv
from analysis.cli import indicators
from surveys.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
RATINGS = str(EXAMPLES / "ratings.csv")
INVITED = str(EXAMPLES / "invited.csv")
OUTCOMES = str(EXAMPLES / "outcomes.csv")


@pytest.fixture
def runner():
    return CliRunner()


def test_json_has_every_record_unrounded(runner):
    result = runner.invoke(main, ["indicators", "--input", RATINGS, "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    expected = [r.to_dict() for r in compute_indicators(read_ratings_csv(RATINGS))]
    assert records == expected
    suppressed = [r for r in records if r["suppressed"]]
    assert suppressed and all(r["estimate"] is None and r["n"] is None for r in suppressed)


def test_csv_has_the_same_columns(runner):
    result = runner.invoke(
        indicators,
        ["--input", RATINGS, "--invited", INVITED, "--outcomes", OUTCOMES, "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    expected = compute_indicators(
        read_ratings_csv(RATINGS),
        invited=read_invited_csv(INVITED),
        outcomes=read_outcomes_csv(OUTCOMES),
    )
    assert len(rows) == len(expected)
    assert list(rows[0]) == list(expected[0].to_dict())
    first = next(r for r in expected if r.ci_low is not None)
    row = rows[expected.index(first)]
    assert float(row["ci_low"]) == first.ci_low  # unrounded
    assert {r["indicator"] for r in rows} >= {"response_rate", "employment_rate"}


def test_table_is_rounded_and_shows_suppression(runner):
    result = runner.invoke(main, ["indicators", "--input", RATINGS, "--min-n", "5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:6] == [
        "institution",
        "programme",
        "year",
        "instrument",
        "indicator",
        "domain",
    ]
    small = [ln for ln in lines if ln.startswith("U001") and " P02 " in ln and " 2025 " in ln]
    assert small and all("< 5" in ln for ln in small if "responses" in ln)
    assert any("Employer responses" in ln and "< 5" in ln for ln in small)
    # a pooled record names its span, never the single year; secondary suppression in words
    pooled = [ln for ln in lines if ln.startswith("U001") and " P02 " in ln and "2023–2025" in ln]
    assert pooled and all("2023–2025 pooled" in ln for ln in pooled)
    assert any(" hidden " in ln for ln in pooled)
    sat = next(ln for ln in lines if "Employers satisfied overall" in ln and ln.startswith("U000 "))
    assert "%" in sat and "80.0%" in sat  # the default target
    assert sat.split("80.0%")[1].split()[0] in ("met", "not", "inconclusive")


def test_options_are_passed_on(runner, tmp_path):
    out = tmp_path / "out.json"
    result = runner.invoke(
        main,
        [
            "indicators",
            "--input",
            RATINGS,
            "--invited",
            INVITED,
            "--confidence",
            "0.9",
            "--min-n",
            "3",
            "--target",
            "domain_score=50",
            "--target",
            "overall_satisfied=0.5",
            "--fpc",
            "--format",
            "json",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text(encoding="utf-8"))
    assert {r["confidence_level"] for r in records} == {0.9}
    assert any(r["method"] == "t-cluster+fpc" for r in records)
    assert {r["target"] for r in records if r["indicator"] == "domain_score"} == {50.0}
    assert {r["target"] for r in records if r["indicator"] == "overall_satisfied"} == {0.5}
    # min_n 3: the three-response programme is shown
    small = [
        r
        for r in records
        if r["programme"] == "P02" and r["institution"] == "U001" and r["year"] == 2025
    ]
    assert any(not r["suppressed"] for r in small)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--input", "missing.csv"], "ratings: cannot read missing.csv"),
        (["--input", RATINGS, "--target", "overall_satisfied"], "expected INDICATOR=VALUE"),
        (
            ["--input", RATINGS, "--confidence", "95"],
            "confidence_level must be strictly between 0 and 1",
        ),
        (["--input", RATINGS, "--fpc"], "fpc=True needs the invited table"),
    ],
)
def test_input_errors_exit_2_with_the_message(runner, args, message):
    result = runner.invoke(main, ["indicators", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_csv_names_column_row_and_line(runner, tmp_path):
    text = Path(RATINGS).read_text(encoding="utf-8").splitlines()
    cells = text[5].split(",")
    cells[9] = "9"  # score 9 on a 1-5 item
    text[5] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["indicators", "--input", str(bad)])
    assert result.exit_code == 2
    assert "column 'score', row 5 (line 6): 9 is outside the item's scale [1, 5]" in result.output


def test_analysis_cli_imports_neither_flask_nor_surveys():
    code = (
        "import sys; import analysis.cli, analysis; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'surveys', 'sqlalchemy', 'plotly', 'pandas')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_runs_as_a_module_in_a_subprocess(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "surveys", "indicators", "--input", RATINGS, "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["institution"] == "U000"
    done = subprocess.run(
        [sys.executable, "-m", "surveys", "indicators", "--input", str(tmp_path / "none.csv")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "cannot read" in done.stderr and "Traceback" not in done.stderr
