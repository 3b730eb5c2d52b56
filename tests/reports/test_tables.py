"""CSV and XLSX reports, read back: the records' own numbers, display texts, suppression."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from analysis.indicators import FIELDS
from surveys.reports.services import ReportProblem, build_report, check_request
from surveys.reports.tables import LABEL_COLUMNS

FORMULA = '=HYPERLINK("http://evil.example","click")'


def _report(runner, tmp_path, *args) -> tuple[object, bytes]:
    path = tmp_path / "report.out"
    result = runner.invoke(args=["report", *args, "--output", str(path)])
    return result, path.read_bytes() if path.exists() else b""


def _number(text: str) -> float | int | None:
    if text == "":
        return None
    return float(text)


def test_csv_has_a_bom_round_trips_and_equals_the_records(runner, world, records_of, tmp_path):
    result, data = _report(
        runner,
        tmp_path,
        "--year",
        "2025",
        "--institution",
        "tdtu",
        "--lang",
        "ru",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its BOM
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == [*FIELDS, *LABEL_COLUMNS]
    found = records_of(world.institutions["TDTU"], 2025)
    assert len(rows) == len(found.records) > 20
    for row, record in zip(rows, found.records, strict=True):
        assert (row["programme"], int(row["year"]), row["indicator"]) == (
            record.programme,
            record.year,
            record.indicator,
        )
        assert _number(row["estimate"]) == record.estimate  # full precision, not rounded
        assert _number(row["ci_low"]) == record.ci_low
        assert (row["n"] == "") == (record.n is None)
        assert row["suppressed"] == ("true" if record.suppressed else "false")
    # the labels are the presentation module's, in Russian
    mech = next(r for r in rows if r["programme"] == "MECH" and r["indicator"] == "responses")
    assert mech["indicator_name"] == "Ответы работодателей"
    assert mech["shown"] == "32"
    elec = [r for r in rows if r["programme"] == "ELEC"]
    assert elec and all(r["estimate"] == "" for r in elec)  # 3 responses: below min_n
    assert {r["shown"] for r in elec if r["indicator"] == "responses"} == {"< 5"}


def test_xlsx_holds_numbers_as_numbers_suppression_marked_and_formulas_as_text(
    runner, world, records_of, tmp_path, db
):
    world.programmes["CHEM"].name = FORMULA
    db.commit()
    result, data = _report(
        runner,
        tmp_path,
        "--year",
        "2025",
        "--institution",
        "TDTU",
        "--lang",
        "en",
        "--format",
        "xlsx",
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "Indicators",
        "CHEM",
        "ELEC",
        "MECH",
        "MINE",
        "Whole institution",
        "Methodology",
    ]
    sheet = book["Indicators"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:S")
    header = [c.value for c in sheet[1]]
    assert header[:8] == [
        "Programme code",
        "Programme",
        "Year",
        "Instrument",
        "Indicator",
        "Domain",
        "Number of answers",
        "Estimate",
    ]
    found = records_of(world.institutions["TDTU"], 2025)
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(found.records)
    shares = 0
    for cells, record in zip(rows, found.records, strict=True):
        estimate = cells[7]
        if record.suppressed:
            assert estimate.value in ("< 5", "hidden")
            assert estimate.fill.fgColor.rgb.endswith("EEEEEE")
        elif record.estimate is not None:
            assert isinstance(estimate.value, float | int)
            # unrounded: equal to Excel's 15 significant digits (rounding for display is
            # the number format's, 0.0 / 0.0% as the pages show it)
            assert estimate.value == pytest.approx(record.estimate, rel=1e-14)
            if record.indicator == "overall_satisfied":
                assert estimate.number_format == "0.0%"
                shares += 1
        if record.n is not None and not record.suppressed:
            assert cells[6].value == record.n
    assert shares >= 3
    chem = next(r for r in rows if r[0].value == "CHEM")
    assert chem[1].value == "'" + FORMULA  # neutralised: text, never a formula
    assert chem[1].data_type == "s"
    assert book["MECH"]["A1"].value == "MECH Mechanical engineering"
    assert book["CHEM"]["A1"].value == "CHEM " + FORMULA
    methodology = [c.value for c in book["Methodology"]["B"] if c.value]
    assert any("How to read the range" in v for v in methodology)
    assert "2025" in methodology


def test_bad_requests_are_messages_naming_the_option(runner, world, tmp_path):
    cases = [
        (
            ["--year", "2019", "--institution", "TDTU", "--format", "csv"],
            "--year",
            "no data for graduation year 2019. Years with data: 2025, 2024",
        ),
        (
            ["--year", "2025", "--institution", "TDTU", "--format", "docx"],
            "--format",
            "Unknown format 'docx'",
        ),
        (
            ["--year", "2025", "--institution", "NOPE", "--format", "csv"],
            "--institution",
            "No institution has the code NOPE",
        ),
        (
            ["--year", "2025", "--institution", "TDTU", "--programme", "OTHER", "--format", "csv"],
            "--programme",
            "Institution TDTU has no programme OTHER",
        ),
        (
            ["--year", "2025", "--institution", "TDTU", "--lang", "de", "--format", "csv"],
            "--lang",
            "Unknown language 'de'",
        ),
    ]
    for args, option, message in cases:
        result, data = (
            _report(runner, tmp_path, *args, "--lang", "en")
            if "--lang" not in args
            else _report(runner, tmp_path, *args)
        )
        assert result.exit_code == 2, result.output
        assert option in result.output and message in result.output, result.output
        assert "Traceback" not in result.output
        assert data == b""  # nothing written


def test_committee_scope_is_checked_and_holds_no_personal_data(app, db, world):
    with app.test_request_context():
        for kwargs, field, words in (
            ({"institution_code": "SAMDU"}, "institution", "not one you may read"),
            ({"programme_code": "CHEM"}, "programme", "no programme CHEM that you may read"),
            ({"fmt": "sav"}, "format", "aggregated reports only"),
        ):
            request = {"year": 2025, "fmt": "csv", "lang": "en", **kwargs}
            with pytest.raises(ReportProblem) as problem:
                check_request(db, world.expert, **request)
            assert problem.value.field == field and words in problem.value.message
        scope = check_request(db, world.expert, year=2025, fmt="xlsx", lang="en")
        assert scope.programme_codes == ["MECH"] and not scope.whole and scope.committee
        texts = []
        for fmt in ("csv", "xlsx"):
            scope = check_request(db, world.member, year=2025, fmt=fmt, lang="en")
            built = build_report(db, scope)
            if fmt == "csv":
                texts.append(built.data.decode("utf-8-sig"))
            else:
                book = load_workbook(io.BytesIO(built.data))
                texts.append(
                    "\n".join(str(c.value) for s in book for row in s.iter_rows() for c in row)
                )
    for text in texts:
        assert "Mechanical engineering" in text
        leaked = [s for s in world.secrets if s in text]
        assert not leaked, leaked
