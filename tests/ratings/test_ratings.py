"""The ratings table built from submitted responses, and its CSV export."""

from __future__ import annotations

import csv
import io
import math

import pytest

from surveys.campaigns.services import create_invitations
from surveys.instruments.definitions import numeric_items
from surveys.instruments.services import latest_version, load_builtin_instruments, load_definition
from surveys.orm import utcnow
from surveys.responses.models import Answer, Response, ResponseStatus
from surveys.responses.ratings import (
    RATINGS_COLUMNS,
    build_ratings,
    iter_ratings,
    ratings_columns,
    write_ratings_csv,
)
from surveys.spreadsheets import neutralise_formula
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.instruments.test_definitions import minimal


def respond(session, invitation, version, answers, *, submitted=True):
    """A response with ``answers``: {item: number | "na" | text}."""
    response = Response(
        invitation_id=invitation.id,
        instrument_version_id=version.id,
        status=ResponseStatus.SUBMITTED if submitted else ResponseStatus.DRAFT,
        submitted_at=utcnow() if submitted else None,
        language="en",
    )
    for key, value in answers.items():
        if value == "na":
            response.answers.append(Answer(item_key=key, not_applicable=True))
        elif isinstance(value, str):
            response.answers.append(Answer(item_key=key, text=value))
        else:
            response.answers.append(Answer(item_key=key, number=value))
    session.add(response)
    session.flush()
    return response


@pytest.fixture
def setting(db, make_institution, make_programme, make_graduate, make_employer):
    """A cohort of two graduates, both employed by one enterprise, invited with v1 of 'mini'."""
    version, _ = load_definition(db, minimal())
    institution = make_institution(code="KARSHI")
    programme = make_programme(institution, code="OIL")
    ann = make_graduate(programme, graduation_year=2025, full_name="Ann Secret")
    bob = make_graduate(programme, graduation_year=2025, full_name="Bob Secret")
    employer = make_employer(name="Acme Secret")
    employ(db, ann, employer)
    employ(db, bob, employer)
    campaign = campaign_for(db, version, [programme])
    invitations = sorted(
        create_invitations(db, campaign, secret_key=SECRET), key=lambda i: i.graduate_id
    )
    return {
        "version": version,
        "institution": institution,
        "programme": programme,
        "graduates": (ann, bob),
        "employer": employer,
        "invitations": invitations,
    }


def test_rows_for_a_hand_built_response(db, setting):
    ann_invitation, bob_invitation = setting["invitations"]
    submitted = respond(
        db,
        ann_invitation,
        setting["version"],
        {"skill_a": 4, "overall": "na", "recommend": 9, "notes": "Ann Secret is great"},
    )
    respond(db, bob_invitation, setting["version"], {"skill_a": 2}, submitted=False)
    db.commit()

    rows = build_ratings(db, year=2025)
    ann = setting["graduates"][0]
    common = {
        "institution": "KARSHI",
        "programme": "OIL",
        "year": 2025,
        "instrument": "mini",
        "response_id": submitted.public_id,
        "subject_id": ann.pseudonym,
        "rater_id": setting["employer"].pseudonym,
    }
    assert rows == [
        {
            **common,
            "domain": "skills",
            "item": "skill_a",
            "score": 4,
            "scale_min": 1,
            "scale_max": 5,
        },
        {
            **common,
            "domain": "overall",
            "item": "overall",
            "score": None,
            "scale_min": 1,
            "scale_max": 5,
        },
        {
            **common,
            "domain": "recommend",
            "item": "recommend",
            "score": 9,
            "scale_min": 0,
            "scale_max": 10,
        },
    ]
    assert all(list(row) == list(RATINGS_COLUMNS) for row in rows)
    flat = repr(rows)
    assert "Secret" not in flat and "great" not in flat, "never names or free text"
    assert build_ratings(db, year=2024) == []
    assert build_ratings(db, year=2025, instrument="attestation") == []
    assert build_ratings(db, year=2025, institution_id=setting["institution"].id) == rows


def test_unanswered_items_are_empty_and_each_response_uses_its_version(db, setting):
    ann_invitation, bob_invitation = setting["invitations"]
    v1 = setting["version"]
    first = respond(db, ann_invitation, v1, {"skill_a": 5})
    # v2 puts skill_a on a 1..7 scale: loading it leaves v1 and v1's answers alone
    changed = minimal()
    changed["scales"]["agree7"] = {
        "min": 1,
        "max": 7,
        "labels": {str(p): {"uz": "u", "ru": "р", "en": f"p{p}"} for p in range(1, 8)},
    }
    changed["sections"][0]["items"][0]["scale"] = "agree7"
    v2, created = load_definition(db, changed)
    assert created and v2.version == 2
    second = respond(db, bob_invitation, v2, {"skill_a": 7, "recommend": 10})
    db.commit()

    db.refresh(first)
    assert first.instrument_version_id == v1.id
    assert numeric_items(v1.definition)[0]["scale_max"] == 5

    rows = build_ratings(db, year=2025)
    # the columnar table (the indicators' input) holds the same rows, each with its version
    assert as_rows(ratings_columns(db, year=2025)) == list(iter_ratings(db, year=2025))
    by_response = {}
    for row in rows:
        by_response.setdefault(row["response_id"], []).append(
            (row["item"], row["score"], row["scale_min"], row["scale_max"])
        )
    assert by_response[first.public_id] == [
        ("skill_a", 5, 1, 5),
        ("overall", None, 1, 5),
        ("recommend", None, 0, 10),
    ]
    assert by_response[second.public_id] == [
        ("skill_a", 7, 1, 7),
        ("overall", None, 1, 5),
        ("recommend", 10, 0, 10),
    ]


def test_chunks_and_columns_give_the_same_table(db, setting):
    for invitation in setting["invitations"]:
        respond(db, invitation, setting["version"], {"skill_a": 3, "overall": 4, "recommend": 0})
    db.commit()
    whole = list(iter_ratings(db, year=2025))
    assert list(iter_ratings(db, year=2025, chunk_size=1)) == whole
    columns = ratings_columns(db, year=2025)
    assert list(columns) == list(RATINGS_COLUMNS)
    assert list(columns["score"]) == [3, 4, 0, 3, 4, 0]
    assert as_rows(columns) == whole
    assert len(whole) == 6


def as_rows(columns):
    """The columnar table as iter_ratings' tuples (NaN, the columns' empty score, as None)."""
    values = [list(columns[name]) for name in RATINGS_COLUMNS]
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in zip(*values, strict=True)
    ]


def test_csv_neutralises_formulas_and_leaves_empty_scores_empty():
    stream = io.StringIO()
    row = ("=HYPERLINK()", "+P", 2025, "mini", "R-1", "G-1", "E-1", "skills", "a", None, 1, 5)
    assert write_ratings_csv([row], stream) == 1
    lines = list(csv.reader(io.StringIO(stream.getvalue())))
    assert lines[0] == list(RATINGS_COLUMNS)
    assert lines[1] == [
        "'=HYPERLINK()",
        "'+P",
        "2025",
        "mini",
        "R-1",
        "G-1",
        "E-1",
        "skills",
        "a",
        "",
        "1",
        "5",
    ]
    assert neutralise_formula("-1") == "'-1" and neutralise_formula(-1) == -1
    assert neutralise_formula("@x") == "'@x" and neutralise_formula("ok") == "ok"


def test_export_ratings_command_writes_the_csv(runner, db, setting, tmp_path):
    respond(db, setting["invitations"][0], setting["version"], {"skill_a": 4, "overall": "na"})
    db.commit()
    target = tmp_path / "ratings.csv"
    result = runner.invoke(
        ["export", "ratings", "--year", "2025", "--institution", "KARSHI", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "3 rating row(s) written" in result.output
    raw = target.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [(r["item"], r["score"], r["scale_min"], r["scale_max"], r["year"]) for r in rows] == [
        ("skill_a", "4", "1", "5", "2025"),
        ("overall", "", "1", "5", "2025"),
        ("recommend", "", "0", "10", "2025"),
    ]
    assert list(tmp_path.iterdir()) == [target], "no temporary file left behind"

    result = runner.invoke(
        ["export", "ratings", "--year", "2025", "--institution", "NOPE", "--output", str(target)]
    )
    assert result.exit_code == 2
    assert "no institution with code 'NOPE'" in result.output


def test_export_builtin_instrument_has_a_row_per_numeric_item(runner, db, setting):
    versions = load_builtin_instruments(db)
    attestation = latest_version(db, "attestation")
    assert attestation in versions
    campaign = campaign_for(db, attestation, [setting["programme"]], name="Attestation")
    invitation = create_invitations(db, campaign, secret_key=SECRET)[0]
    respond(db, invitation, attestation, {"pk_theory": 5, "strengths": "Free text"})
    db.commit()
    result = runner.invoke(
        ["export", "ratings", "--year", "2025", "--instrument", "attestation", "--output", "-"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("KARSHI")]
    assert len(lines) == len(numeric_items(attestation.definition)) == 18
    assert "Free text" not in result.output


def test_a_few_bulk_queries_whatever_the_number_of_responses(db, setting):
    from sqlalchemy import event

    for invitation in setting["invitations"]:
        respond(db, invitation, setting["version"], {"skill_a": 3})
    db.commit()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = build_ratings(db, year=2025)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(rows) == 6
    # responses with codes and pseudonyms, the versions' definitions, the numeric answers
    assert len(statements) == 3, statements


def test_the_export_is_what_the_analysis_reads(runner, db, setting, tmp_path):
    """The contract with ``analysis``: its own reader accepts the exported file as is."""
    import analysis

    read_ratings_csv = getattr(analysis, "read_ratings_csv", None)
    if read_ratings_csv is None:
        pytest.skip("analysis.read_ratings_csv is not on this branch yet")
    first, second = setting["invitations"]
    respond(db, first, setting["version"], {"skill_a": 4, "overall": 5, "recommend": 9})
    respond(db, second, setting["version"], {"skill_a": "na", "overall": 3, "recommend": 6})
    db.commit()
    target = tmp_path / "ratings.csv"
    runner.invoke(["export", "ratings", "--year", "2025", "--output", str(target)])
    table = read_ratings_csv(target)
    assert list(table) == list(RATINGS_COLUMNS)
    assert table["year"].tolist() == [2025] * 6
    assert table["scale_max"].tolist() == [5, 5, 10, 5, 5, 10]
    scores = table["score"].tolist()
    assert scores[:3] == [4.0, 5.0, 9.0] and scores[3] != scores[3]  # NaN for N/A
