"""``hamkor campaigns create|list`` and ``hamkor invitations list``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from surveys.audit.models import AuditEvent
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.tokens import find_invitation
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.orm import utcnow
from surveys.responses.models import Response, ResponseStatus
from tests.campaigns.builders import SECRET, employ


@pytest.fixture
def registry(db, make_institution, make_programme, make_graduate, make_employer):
    load_builtin_instruments(db)
    institution = make_institution(code="KARSHI")
    oil = make_programme(institution, code="OIL")
    gas = make_programme(institution, code="GAS")
    make_programme(make_institution(code="OTHER"), code="ELSE")
    acme = make_employer(institution, name="Acme LLC", contact_email="hr@acme.example")
    graduates = [
        make_graduate(oil, graduation_year=2025, full_name="Aziza Karimova"),
        make_graduate(oil, graduation_year=2025, full_name="Bekzod Tursunov"),
        make_graduate(gas, graduation_year=2025, full_name="Dilnoza Rahimova"),
    ]
    for graduate in graduates:
        employ(db, graduate, acme)
    db.commit()
    return {"institution": institution, "acme": acme, "graduates": graduates}


#: A campaign that takes answers today (links of a campaign whose dates are past expire).
OPENS = dt.date.today() - dt.timedelta(days=10)
CLOSES = dt.date.today() + dt.timedelta(days=60)

CREATE = [
    "campaigns",
    "create",
    "--institution",
    "KARSHI",
    "--instrument",
    "attestation",
    "--year",
    "2025",
    "--programme",
    "OIL",
    "--programme",
    "GAS",
    "--opens",
    OPENS.isoformat(),
    "--closes",
    CLOSES.isoformat(),
]


def test_create_makes_the_campaign_and_its_invitations(runner, db, registry):
    result = runner.invoke([*CREATE, "--name", "Attestation 2025", "--language", "ru"])
    assert result.exit_code == 0, result.output
    campaign = db.scalars(select(Campaign)).one()
    assert (
        f"Campaign {campaign.id} (Attestation 2025) created with 3 invitation(s)" in result.output
    )
    assert campaign.instrument_version_id == latest_version(db, "attestation").id
    assert {i.language for i in db.scalars(select(Invitation))} == {"ru"}
    assert campaign.opens_on == OPENS

    rows = json.loads(runner.invoke(["campaigns", "list", "--format", "json"]).output)
    assert rows == [
        {
            "id": campaign.id,
            "institution": "KARSHI",
            "name": "Attestation 2025",
            "instrument": "attestation",
            "version": 1,
            "year": 2025,
            "programmes": "GAS OIL",
            "opens_on": OPENS.isoformat(),
            "closes_on": CLOSES.isoformat(),
            "status": "open",
            "language": "ru",
            "reminder_days": [],
            "invited": 3,
            "sent": 0,
            "submitted": 0,
        }
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--institution", "NOPE"], "no institution with code 'NOPE'"),
        (["--instrument", "survey"], "no instrument 'survey'"),
        (["--programme", "ELSE"], "institution KARSHI has no programme ELSE"),
        (
            ["--closes", (OPENS - dt.timedelta(days=1)).isoformat()],
            f"the closing date {OPENS - dt.timedelta(days=1)} is before the opening date",
        ),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(runner, db, registry, change, message):
    result = runner.invoke([*CREATE, *change])
    assert result.exit_code == 2
    assert message in result.output
    assert db.scalar(select(func.count()).select_from(Campaign)) == 0


def test_create_refuses_a_bad_date(runner, db, registry):
    result = runner.invoke([*CREATE, "--opens", "10.01.2026"])
    assert result.exit_code == 2 and "'10.01.2026' is not a date (YYYY-MM-DD)" in result.output


def test_invitations_list_carries_status_and_working_links(app, runner, db, registry):
    runner.invoke(CREATE)
    invitations = db.scalars(select(Invitation).order_by(Invitation.id)).all()
    first, second, third = invitations
    db.add(
        Response(
            invitation_id=first.id,
            instrument_version_id=first.campaign.instrument_version_id,
            status=ResponseStatus.SUBMITTED,
            submitted_at=utcnow(),
        )
    )
    db.add(
        Response(
            invitation_id=second.id, instrument_version_id=first.campaign.instrument_version_id
        )
    )
    third.withdrawn_at = utcnow()
    db.commit()

    result = runner.invoke(["invitations", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["status"] for r in rows] == ["submitted", "draft", "withdrawn"]
    for row in rows:
        assert {
            "id",
            "campaign",
            "employer",
            "graduate",
            "status",
            "link",
            "email",
            "language",
            "sent_at",
        } <= set(row)
        assert row["link"].startswith("http://hamkor.test/s/")
        assert row["employer"] == "Acme LLC" and row["email"] == "hr@acme.example"
        assert row["campaign"] == first.campaign_id and row["sent_at"] is None
        token = row["link"].rsplit("/", 1)[1]
        assert find_invitation(db, token, SECRET).id == row["id"]
    assert rows[0]["graduate"] == "Aziza Karimova"

    drafts = json.loads(
        runner.invoke(["invitations", "list", "--status", "draft", "--format", "json"]).output
    )
    assert [r["id"] for r in drafts] == [second.id]
    table = runner.invoke(["invitations", "list", "--campaign", str(first.campaign_id)]).output
    assert table.splitlines()[0].split() == [
        "id",
        "campaign",
        "employer",
        "graduate",
        "status",
        "email",
        "language",
        "sent_at",
        "link",
    ]
    assert len(table.splitlines()) == 4
    csv_out = runner.invoke(["invitations", "list", "--format", "csv"]).output
    assert (
        csv_out.splitlines()[0]
        == "id,campaign,employer,graduate,status,email,language,sent_at,link"
    )
    result = runner.invoke(["invitations", "list", "--campaign", "999"])
    assert result.exit_code == 2 and "no campaign with id 999" in result.output


def test_new_links_are_not_sent_and_open_a_form(runner, db, registry):
    runner.invoke(CREATE)
    rows = json.loads(
        runner.invoke(["invitations", "list", "--status", "open", "--format", "json"]).output
    )
    assert len(rows) == 3 and {r["status"] for r in rows} == {"not_sent"}


def test_invite_adds_only_missing_pairs(runner, db, registry, make_graduate, make_employer):
    result = runner.invoke(CREATE)
    campaign = db.scalars(select(Campaign)).one()
    assert "created with 3 invitation(s)" in result.output
    newcomer = make_graduate(registry["graduates"][0].programme, graduation_year=2025)
    employ(db, newcomer, make_employer())
    db.commit()
    result = runner.invoke(["campaigns", "invite", str(campaign.id)])
    assert result.exit_code == 0
    assert f"Campaign {campaign.id}: 1 new invitation(s)." in result.output
    result = runner.invoke(["campaigns", "invite", str(campaign.id)])
    assert "0 new invitation(s)" in result.output
    assert runner.invoke(["campaigns", "invite", "999"]).exit_code == 2


def test_create_refuses_to_open_a_campaign_that_invites_nobody(
    runner, db, registry, make_programme, make_graduate
):
    empty = make_programme(registry["institution"], code="EMPTY")
    db.commit()
    create_empty = [*CREATE[:9], "EMPTY", *CREATE[12:]]
    result = runner.invoke(create_empty)
    assert result.exit_code == 2
    assert "the campaign invites nobody, so it is not opened" in result.output
    assert "the registry has no graduate of EMPTY (2025)" in result.output
    # graduates, but nobody employs them: said so, and still nothing is created
    make_graduate(empty, graduation_year=2025, full_name="Nodira Yusupova")
    make_graduate(empty, graduation_year=2025, full_name="Olim Qodirov")
    db.commit()
    result = runner.invoke(create_empty)
    assert result.exit_code == 2
    assert "none of the 2 graduate(s) of EMPTY (2025) has an employment record" in result.output
    db.expire_all()
    assert db.scalars(select(Campaign)).all() == []
    assert db.scalars(select(AuditEvent).where(AuditEvent.action.like("campaigns.%"))).all() == []
    # a draft may start empty (staff add pairs to it), and is told what it lacks
    result = runner.invoke([*create_empty, "--draft"])
    assert result.exit_code == 0, result.output
    assert "created with 0 invitation(s)" in result.output
    assert "Warning: the draft invites nobody yet: none of the 2 graduate(s)" in result.output
    campaign = db.scalars(select(Campaign)).one()
    assert campaign.status == CampaignStatus.DRAFT
    opened = runner.invoke(["campaigns", "status", str(campaign.id), "open"])
    assert opened.exit_code == 2 and "has an employment record" in opened.output
