"""``hamkor indicators --institution`` and the exports that let an analyst reproduce it."""

from __future__ import annotations

import json

import pytest

from surveys.indicators import get_indicators, update_settings
from tests.indicators.builders import build_setting, committed_setting


def _json(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_from_the_database_equals_the_service(app, db, runner):
    setting = committed_setting(db)
    records = _json(runner.invoke(args=["indicators", "--institution", "qmii", "--format", "json"]))
    with app.app_context():
        stored = get_indicators(db, setting.institution.id)
    assert records == [r.to_dict() for r in stored.records]
    assert {r["programme"] for r in records} == {"*", "OIL", "GEO"}
    scoped = _json(
        runner.invoke(
            args=[
                "indicators",
                *("--institution", "QMII", "--year", "2025", "--programme", "OIL"),
                *("--format", "json"),
            ]
        )
    )
    assert scoped and {(r["year"], r["programme"]) for r in scoped} == {(2025, "OIL")}


def test_the_table_names_programmes_and_hides_small_groups(app, db, runner):
    setting = build_setting(db)
    with app.test_request_context():  # seven answers per programme and year: hidden below 8
        update_settings(
            db,
            setting.institution.id,
            confidence_level=0.95,
            min_n=8,
            low_n=25,
            fpc=False,
            targets={},
        )
    db.commit()
    result = runner.invoke(args=["indicators", "--institution", "QMII", "--lang", "ru"])
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert "OIL — Oil and gas machines" in table
    assert "Трудоустроенные выпускники" in table  # labels in the language asked for
    rated = [
        ln for ln in table.splitlines() if "OIL —" in ln and " 2025 " in ln and "attestation" in ln
    ]
    assert rated and all("< 8" in ln or "скрыто" in ln for ln in rated)
    assert "Трудоустроенные" in table and "< 8" in table
    assert "Reproduce with: hamkor indicators --input ratings.csv" in result.stderr


def test_an_analyst_reproduces_every_number_from_the_exports(app, db, runner, tmp_path):
    setting = build_setting(db)
    with app.test_request_context():
        update_settings(
            db,
            setting.institution.id,
            confidence_level=0.9,
            min_n=6,
            low_n=20,
            fpc=True,
            targets={"employment_rate": 0.75, "domain_score": 60},
        )
    db.commit()
    result = runner.invoke(args=["indicators", "--institution", "QMII", "--format", "json"])
    from_database = _json(result)
    settings_args = result.stderr.split("--outcomes outcomes.csv ")[1].split()
    assert "--fpc" in settings_args and "overall_satisfied=none" in " ".join(settings_args)
    files = {}
    for kind in ("ratings", "invited", "outcomes"):
        files[kind] = tmp_path / f"{kind}.csv"
        done = runner.invoke(
            args=["export", kind, "--institution", "QMII", "--output", str(files[kind])]
        )
        assert done.exit_code == 0, done.output
        raw = files[kind].read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
        assert b"Secret" not in raw  # no graduate's name
    from_files = _json(
        runner.invoke(
            args=[
                "indicators",
                *("--input", str(files["ratings"])),
                *("--invited", str(files["invited"])),
                *("--outcomes", str(files["outcomes"])),
                *settings_args,
                *("--format", "json"),
            ]
        )
    )
    assert from_files == from_database
    assert {r["confidence_level"] for r in from_files} == {0.9}
    assert any(r["method"].endswith("+fpc") for r in from_files if r["method"])


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "give --input FILE"),
        (["--input", "x.csv", "--institution", "QMII"], "not both"),
        (["--institution", "QMII", "--confidence", "0.9"], "--confidence cannot be combined"),
        (["--institution", "QMII", "--target", "nps=10"], "--target cannot be combined"),
        (["--institution", "NOPE"], "no institution has the code 'NOPE'"),
        (["--institution", "QMII", "--programme", "XYZ"], "has no programme XYZ"),
    ],
)
def test_bad_options_are_explained(db, runner, args, message):
    committed_setting(db)
    result = runner.invoke(args=["indicators", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_exports_of_one_year_and_programme(db, runner):
    committed_setting(db)
    invited = runner.invoke(
        args=[
            "export",
            "invited",
            *("--institution", "QMII", "--year", "2024", "--programme", "GEO"),
            *("--output", "-"),
        ]
    )
    assert invited.exit_code == 0, invited.output
    assert invited.stdout.splitlines() == [
        "institution,programme,year,instrument,invited",
        "QMII,GEO,2024,attestation,8",
    ]
    outcomes = runner.invoke(
        args=[
            *("export", "outcomes", "--institution", "QMII", "--as-of", "2026-11-30"),
            *("--year", "2025", "--output", "-"),
        ]
    )
    lines = outcomes.stdout.splitlines()
    assert lines[0] == (
        "institution,programme,year,subject_id,employed,months_to_employment,retained_12m,"
        "partner_employer"
    )
    assert len(lines) == 1 + 18 and all(",2025,G-" in line for line in lines[1:])
    bad = runner.invoke(args=["export", "outcomes", "--as-of", "soon", "--output", "-"])
    assert bad.exit_code == 2 and "'soon' is not a date" in bad.output
