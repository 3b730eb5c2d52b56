"""``hamkor instruments load|list|show``."""

from __future__ import annotations

import json

import yaml
from sqlalchemy import func, select

from surveys.instruments.models import Instrument, InstrumentVersion
from tests.instruments.test_definitions import minimal


def test_load_builtin_reports_created_then_unchanged(runner, db):
    result = runner.invoke(["instruments", "load", "--builtin"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "builtin/attestation.yaml: attestation version 1 created",
        "builtin/interview.yaml: interview version 1 created",
        "builtin/performance.yaml: performance version 1 created",
    ]
    result = runner.invoke(["instruments", "load", "--builtin"])
    assert "attestation version 1 unchanged" in result.output
    assert db.scalar(select(func.count()).select_from(InstrumentVersion)) == 3


def test_changed_file_loads_as_version_two(runner, db, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(minimal(), allow_unicode=True), encoding="utf-8")
    assert "mini version 1 created" in runner.invoke(["instruments", "load", str(path)]).output
    changed = minimal()
    changed["sections"][0]["items"][4]["text"]["en"] = "Notes, please"
    path.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(["instruments", "load", str(path)])
    assert result.exit_code == 0 and f"{path}: mini version 2 created" in result.output


def test_bad_file_exits_2_naming_the_item_and_writes_nothing(runner, db, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    broken = minimal()
    broken["key"] = "other"
    broken["sections"][0]["items"][0]["type"] = "slider"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = runner.invoke(["instruments", "load", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: item 'skill_a' (section 'main'): unknown type 'slider'" in result.output
    assert "Nothing was loaded." in result.output
    assert db.scalar(select(func.count()).select_from(Instrument)) == 0

    (tmp_path / "syntax.yaml").write_text("key: [unclosed\n", encoding="utf-8")
    result = runner.invoke(["instruments", "load", str(tmp_path / "syntax.yaml")])
    assert result.exit_code == 2 and "not valid YAML" in result.output


def test_load_without_arguments_is_a_usage_error(runner, db):
    result = runner.invoke(["instruments", "load"])
    assert result.exit_code == 2 and "--builtin" in result.output


def test_list_as_json_and_csv(runner, db):
    runner.invoke(["instruments", "load", "--builtin"])
    rows = json.loads(runner.invoke(["instruments", "list", "--format", "json"]).output)
    assert [(r["key"], r["version"], r["kind"]) for r in rows] == [
        ("attestation", 1, "attestation"),
        ("interview", 1, "interview"),
        ("performance", 1, "performance"),
    ]
    assert rows[0]["numeric_items"] == 18 and len(rows[0]["checksum"]) == 64
    csv_out = runner.invoke(["instruments", "list", "--format", "csv"]).output
    assert csv_out.splitlines()[0].startswith("key,version,kind")


def test_show_prints_the_structure_in_the_chosen_language(runner, db):
    runner.invoke(["instruments", "load", "--builtin"])
    out = runner.invoke(["instruments", "show", "performance", "--lang", "ru"]).output
    assert "performance version 1 (performance)" in out
    assert "Section 1 of 5: period" in out
    assert "retention_intent [single_choice, required]" in out
    assert "- retain_promote: Оставить и повысить в должности" in out
    out = runner.invoke(["instruments", "show", "attestation", "--lang", "uz"]).output
    assert "pk_theory [likert, level5, domain professional_knowledge, required, N/A allowed]" in out
    assert "Mutaxassislikning nazariy asoslarini bilishi" in out
    as_json = json.loads(runner.invoke(["instruments", "show", "interview", "--json"]).output)
    assert as_json["key"] == "interview"
    result = runner.invoke(["instruments", "show", "attestation", "--version", "7"])
    assert result.exit_code == 1 and "no version 7 of instrument 'attestation'" in result.output


def test_check_validates_without_writing(runner, db, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    result = runner.invoke(["instruments", "load", "--check", str(path)])
    assert result.exit_code == 0
    assert f"{path}: mini version 1 valid, would be created" in result.output
    assert db.scalar(select(func.count()).select_from(Instrument)) == 0
    runner.invoke(["instruments", "load", str(path)])
    result = runner.invoke(["instruments", "load", "--check", str(path)])
    assert "mini version 1 valid, unchanged" in result.output
