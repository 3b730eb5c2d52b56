"""Invitation statuses that say what a link does today; duplicates, withdraw and re-issue."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from surveys.audit.models import AuditEvent
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.services import (
    CampaignError,
    DuplicateCampaign,
    change_status,
    create_invitations,
)
from surveys.campaigns.tokens import invitation_link, token_for
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.orm import utcnow
from surveys.responses.models import Response, ResponseStatus
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.conftest import csrf_token_from

TODAY = dt.date.today()


@pytest.fixture
def world(db, make_institution, make_programme, make_graduate, make_employer):
    """Five campaigns of one institution: open now, open but past its closing day, closed,
    draft, and open with its first day still ahead; two invited pairs each."""
    load_builtin_instruments(db)
    version = latest_version(db, "attestation")
    institution = make_institution(code="KARSHI")
    acme = make_employer(institution, name="Acme LLC", contact_email="hr@acme.example")
    campaigns = {}
    for index, (key, status, opens, closes) in enumerate(
        [
            ("current", CampaignStatus.OPEN, -5, 30),
            ("past", CampaignStatus.OPEN, -60, -1),
            ("closed", CampaignStatus.CLOSED, -5, 30),
            ("draft", CampaignStatus.DRAFT, -5, 30),
            ("future", CampaignStatus.OPEN, 5, 30),
        ]
    ):
        programme = make_programme(institution, code=f"P{index}")
        for name in ("A", "B"):
            employ(db, make_graduate(programme, graduation_year=2025, full_name=name), acme)
        campaign = campaign_for(
            db,
            version,
            [programme],
            name=key,
            status=status,
            opens_on=TODAY + dt.timedelta(days=opens),
            closes_on=TODAY + dt.timedelta(days=closes),
        )
        create_invitations(db, campaign, secret_key=SECRET)
        campaigns[key] = campaign
    db.commit()
    return {"institution": institution, "campaigns": campaigns, "version": version}


def _invitations(db, campaign: Campaign) -> list[Invitation]:
    return list(
        db.scalars(
            select(Invitation).where(Invitation.campaign_id == campaign.id).order_by(Invitation.id)
        )
    )


def _rows(runner, *args: str) -> list[dict]:
    result = runner.invoke(["invitations", "list", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_status_open_lists_exactly_the_links_that_open_a_form(client, runner, db, world):
    current = _invitations(db, world["campaigns"]["current"])
    submitted, _ = current
    db.add(
        Response(
            invitation_id=submitted.id,
            instrument_version_id=world["version"].id,
            status=ResponseStatus.SUBMITTED,
            submitted_at=utcnow(),
        )
    )
    db.commit()

    listed = _rows(runner, "--status", "open")
    assert [r["id"] for r in listed] == [current[1].id]
    # follow every link of every campaign: only the listed one shows a form
    for row in _rows(runner):
        answer = client.get(row["link"].removeprefix("http://hamkor.test"))
        opens_form = answer.status_code == 200 and b"survey-form" in answer.data
        assert opens_form == (row["id"] == current[1].id), (row, answer.status_code)

    by_campaign = {}
    for row in _rows(runner):
        by_campaign.setdefault(row["campaign"], set()).add(row["status"])
    names = {c.id: key for key, c in world["campaigns"].items()}
    assert {names[k]: v for k, v in by_campaign.items()} == {
        "current": {"submitted", "opened"},  # the second was just opened by the loop above
        "past": {"expired"},
        "closed": {"expired"},
        "draft": {"not_sent"},
        "future": {"not_sent"},
    }


def test_opening_the_form_marks_the_invitation_opened(client, runner, db, world):
    invitation = _invitations(db, world["campaigns"]["current"])[0]
    assert _rows(runner, "--status", "not_sent")[0]["id"] == invitation.id
    client.get(f"/s/{token_for(invitation.nonce, SECRET)}")
    assert [r["id"] for r in _rows(runner, "--status", "opened")] == [invitation.id]


def test_a_declined_link_gets_a_polite_page_and_stops_opening(client, runner, db, world):
    invitation = _invitations(db, world["campaigns"]["current"])[0]
    path = f"/s/{token_for(invitation.nonce, SECRET)}/decline"
    page = client.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and f'action="{path}"'.encode() in page.data
    answer = client.post(
        path, data={"csrf_token": csrf_token_from(page.text)}, follow_redirects=True
    )
    # the link's language (Uzbek) before and after, whatever the browser prefers
    assert '<html lang="uz">' in page.text and '<html lang="uz">' in answer.text
    assert answer.status_code == 410 and "Siz bu taklifni rad etdingiz" in answer.text
    again = client.get(f"/s/{token_for(invitation.nonce, SECRET)}?lang=en")
    assert again.status_code == 410 and "You declined this invitation" in again.text
    assert [r["id"] for r in _rows(runner, "--status", "declined")] == [invitation.id]
    assert invitation.id not in {r["id"] for r in _rows(runner, "--status", "open")}
    # a decline without the form's token changes nothing
    other = _invitations(db, world["campaigns"]["current"])[1]
    refused = client.post(f"/s/{token_for(other.nonce, SECRET)}/decline", data={})
    assert refused.status_code == 400
    db.refresh(other)
    assert other.declined_at is None


def test_withdraw_then_reissue(app, client, runner, db, world):
    invitation = _invitations(db, world["campaigns"]["current"])[0]
    old_path = f"/s/{token_for(invitation.nonce, SECRET)}"
    result = runner.invoke(["invitations", "withdraw", str(invitation.id)])
    assert result.exit_code == 0 and "withdrawn" in result.output
    page = client.get(old_path, headers={"Accept-Language": "ru"})
    assert page.status_code == 410 and "Bu taklifnoma bekor qilingan" in page.text  # its language
    page = client.get(f"{old_path}?lang=en")
    assert page.status_code == 410 and "This invitation was withdrawn" in page.text
    assert [r["status"] for r in _rows(runner) if r["id"] == invitation.id] == ["withdrawn"]
    again = runner.invoke(["invitations", "withdraw", str(invitation.id)])
    assert again.exit_code == 2 and "already withdrawn" in again.output

    result = runner.invoke(["invitations", "reissue", str(invitation.id)])
    assert result.exit_code == 0, result.output
    db.expire_all()
    invitation = db.get(Invitation, invitation.id)
    new_link = invitation_link(invitation, SECRET, "http://hamkor.test")
    assert new_link in result.output and invitation.issue == 2
    assert client.get(old_path).status_code == 404  # the old link is dead, says nothing
    assert b"survey-form" in client.get(new_link.removeprefix("http://hamkor.test")).data
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"invitations.withdraw", "invitations.reissue"} <= actions
    assert runner.invoke(["invitations", "withdraw", "999"]).exit_code == 2


def test_a_second_campaign_for_the_same_cohort_is_refused_naming_the_first(runner, db, world):
    first = world["campaigns"]["current"]
    args = [
        "campaigns",
        "create",
        "--institution",
        "KARSHI",
        "--instrument",
        "attestation",
        "--year",
        "2025",
        "--programme",
        "P0",
        "--opens",
        TODAY.isoformat(),
        "--closes",
        (TODAY + dt.timedelta(days=9)).isoformat(),
    ]
    before = db.scalar(select(func.count()).select_from(Campaign))
    result = runner.invoke(args)
    assert result.exit_code == 2
    assert f"campaign {first.id} \u201ccurrent\u201d (open) already invites" in result.output
    assert "--allow-duplicate" in result.output
    assert db.scalar(select(func.count()).select_from(Campaign)) == before
    # the closed campaign's programme (P2) is free; asked explicitly, a duplicate is made
    assert runner.invoke([*args[:-6], "--programme", "P2", *args[-4:]]).exit_code == 0
    assert runner.invoke([*args, "--allow-duplicate"]).exit_code == 0
    assert db.scalar(select(func.count()).select_from(Campaign)) == before + 2


def test_state_changes_and_the_audited_reopen(runner, db, world):
    draft = world["campaigns"]["draft"]
    # opening the draft is refused while another campaign covers... nothing: its programme
    # is its own, so it opens
    result = runner.invoke(["campaigns", "status", str(draft.id), "open"])
    assert result.exit_code == 0 and "draft \u2192 open" in result.output
    closed = world["campaigns"]["closed"]
    assert runner.invoke(["campaigns", "status", str(closed.id), "open"]).exit_code == 0
    assert runner.invoke(["campaigns", "status", str(closed.id), "closed"]).exit_code == 0
    assert runner.invoke(["campaigns", "status", str(closed.id), "archived"]).exit_code == 0
    db.expire_all()
    assert db.get(Campaign, closed.id).status == CampaignStatus.ARCHIVED
    bad = runner.invoke(["campaigns", "status", str(closed.id), "open"])
    assert bad.exit_code == 2 and "an archived campaign cannot become open" in bad.output
    reopen = db.scalars(select(AuditEvent).where(AuditEvent.action == "campaigns.reopen")).one()
    assert reopen.details == {"from": "closed", "to": "open"}


def test_a_campaign_without_invitations_does_not_open(db, world, make_programme):
    empty = campaign_for(
        db,
        world["version"],
        [make_programme(world["institution"], code="EMPTY")],
        status=CampaignStatus.DRAFT,
    )
    with pytest.raises(CampaignError, match="invites nobody"):
        change_status(db, empty, CampaignStatus.OPEN)
    db.rollback()


def test_a_duplicate_draft_cannot_open_over_an_open_campaign(db, world):
    current = world["campaigns"]["current"]
    twin = campaign_for(
        db,
        world["version"],
        list(current.programmes),
        name="twin",
        status=CampaignStatus.DRAFT,
        allow_duplicate=True,
    )
    create_invitations(db, twin, secret_key=SECRET)
    with pytest.raises(DuplicateCampaign) as caught:
        change_status(db, twin, CampaignStatus.OPEN)
    assert caught.value.existing.id == current.id
    db.rollback()
