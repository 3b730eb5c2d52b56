"""``hamkor import`` and ``hamkor registry``: reports, exit status, nothing written on errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from surveys.audit.models import AuditEvent
from surveys.registry.models import Graduate, Programme
from tests.registry.conftest import EXAMPLES


def _import(runner, kind, name, *extra):
    return runner.invoke(["import", kind, str(EXAMPLES / name), "--institution", "QMII", *extra])


def test_import_prints_counts_and_commits(runner, institution, count, db):
    result = _import(runner, "programmes", "programmes.csv")
    assert result.exit_code == 0, result.output
    assert "6 rows. 6 were created, 0 were updated, 0 unchanged." in result.stdout
    result = _import(runner, "graduates", "graduates.csv")
    assert result.exit_code == 0, result.output
    assert count(Graduate) == 40
    event = db.query(AuditEvent).filter_by(action="registry.import").all()[-1]
    assert event.actor == "cli" and event.details["created"] == 40


def test_institution_code_is_case_insensitive_and_unknown_code_is_refused(runner, institution):
    result = runner.invoke(
        ["import", "programmes", str(EXAMPLES / "programmes.csv"), "--institution", "qmii"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        ["import", "programmes", str(EXAMPLES / "programmes.csv"), "--institution", "NOPE"]
    )
    assert result.exit_code == 2
    assert "no institution has the code 'NOPE'" in result.output


def test_dry_run_writes_nothing(runner, institution, count):
    _import(runner, "programmes", "programmes.csv")
    result = _import(runner, "graduates", "graduates.csv", "--dry-run")
    assert result.exit_code == 0
    assert "40 would be created" in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    assert count(Graduate) == 0


def test_invalid_file_exits_2_with_a_table_of_problems(runner, institution, count):
    _import(runner, "programmes", "programmes.csv")
    result = _import(runner, "graduates", "graduates-bad.csv")
    assert result.exit_code == 2
    assert "graduates-bad.csv: 5 problem(s); nothing was imported." in result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["row", "column", "value", "expected"]
    assert lines[1].startswith("2    programme_code   99999999")
    assert any(line.startswith("6    email            not-an-email") for line in lines)
    assert count(Graduate) == 0


def test_json_report_lists_every_error(runner, institution):
    _import(runner, "programmes", "programmes.csv")
    result = _import(runner, "graduates", "graduates-bad.csv", "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["created"] == 0
    assert report["errors"][0] == {
        "row": 2,
        "column": "programme_code",
        "value": "99999999",
        "expected": report["errors"][0]["expected"],
    }
    assert [e["row"] for e in report["errors"]] == [2, 4, 5, 6, 7]


def test_more_than_200_errors_are_counted(runner, institution, tmp_path):
    _import(runner, "programmes", "programmes.csv")
    path = tmp_path / "many.csv"
    rows = ["student_number,full_name,programme_code,graduation_year"]
    rows += [f"S{n},Name,NOPE,2024" for n in range(250)]
    path.write_text("\n".join(rows))
    result = runner.invoke(["import", "graduates", str(path), "--institution", "QMII"])
    assert result.exit_code == 2
    assert "… and 50 more (use --format json)." in result.stdout


def test_50_mb_file_is_refused_with_a_clear_message(runner, institution, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: nothing is really written to disk
        handle.truncate(50 * 1024 * 1024)
    result = runner.invoke(["import", "graduates", str(path), "--institution", "QMII"])
    assert result.exit_code == 2
    assert "a file of at most 20 MB (this one has 50 MB)" in result.stdout


def test_progress_counter_on_stderr_for_large_files(runner, institution, tmp_path):
    _import(runner, "programmes", "programmes.csv")
    path = tmp_path / "big.csv"
    rows = ["student_number,full_name,programme_code,graduation_year"]
    rows += [f"S{n},Name {n},60710100,2024" for n in range(2500)]
    path.write_text("\n".join(rows))
    result = runner.invoke(
        ["import", "graduates", str(path), "--institution", "QMII", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert "big.csv: checking rows 2500/2500\n" in result.stderr
    assert "big.csv: writing rows 2500/2500\n" in result.stderr
    assert json.loads(result.stdout)["created"] == 2500  # stdout stays clean JSON


@pytest.mark.parametrize(
    "args",
    [["import"], ["registry"], ["registry", "list"], ["registry", "template"]],
)
def test_every_command_has_help(runner, args):
    result = runner.invoke([*args, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_import_help_lists_columns(runner):
    result = runner.invoke(["import", "--help"])
    assert "graduates: student_number, full_name, programme_code, graduation_year" in " ".join(
        result.output.split()
    )


def test_registry_list_formats(runner, institution, make_programme, db):
    _import(runner, "programmes", "programmes.csv")
    make_programme(institution, code="X1", name='=HYPERLINK("http://x")')
    db.commit()
    result = runner.invoke(["registry", "list", "programmes", "--institution", "QMII"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == [
        "code",
        "name",
        "name_uz",
        "name_ru",
        "name_en",
        "level",
        "field_of_study",
        "graduates",
    ]
    rows = json.loads(
        runner.invoke(
            ["registry", "list", "programmes", "--institution", "QMII", "--format", "json"]
        ).stdout
    )
    assert len(rows) == 7 and rows[0]["code"] == "31110100" and rows[0]["level"] == "vocational"
    found = runner.invoke(
        ["registry", "list", "programmes", "--institution", "QMII", "--search", "GAS"]
    )
    assert len(found.stdout.splitlines()) == 3  # header + two "Oil and gas" programmes
    exported = runner.invoke(
        ["registry", "list", "programmes", "--institution", "QMII", "--format", "csv"]
    )
    cells = {r["code"]: r["name"] for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert cells["X1"].startswith("'=")  # neutralised for spreadsheets


def test_listed_csv_can_be_imported_again(runner, institution, tmp_path, count):
    _import(runner, "programmes", "programmes.csv")
    exported = runner.invoke(
        ["registry", "list", "programmes", "--institution", "QMII", "--format", "csv"]
    )
    path = tmp_path / "again.csv"
    path.write_text(exported.stdout)
    result = runner.invoke(["import", "programmes", str(path), "--institution", "QMII"])
    assert result.exit_code == 0, result.output
    assert "0 were created, 0 were updated, 6 unchanged" in result.stdout
    assert "Columns ignored" in result.stderr  # the computed "graduates" column
    assert count(Programme) == 6


def test_template_prints_the_header_row(runner):
    result = runner.invoke(["registry", "template", "employment"])
    assert (
        result.stdout.strip() == "student_number,employer_tax_number,position,start_date,end_date"
    )


def test_database_refusal_is_reported_without_a_traceback(runner, institution, monkeypatch, count):
    from sqlalchemy.exc import IntegrityError

    from surveys.registry import imports

    def refuse(self, session):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(imports.Plan, "write", refuse)
    result = _import(runner, "programmes", "programmes.csv")
    assert result.exit_code == 1
    assert "the database refused the import (IntegrityError); nothing was written" in result.output
    assert count(Programme) == 0
