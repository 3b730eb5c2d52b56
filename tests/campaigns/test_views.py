"""The staff's campaign pages, driven through the real forms (CSRF on) of a test client."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import time

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from surveys.campaigns import workspace
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.tokens import token_for
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.jobs.models import Job, JobState
from surveys.orm import utcnow
from surveys.responses.models import Answer, Response, ResponseStatus
from tests.campaigns.builders import SECRET, employ
from tests.campaigns.smtp import SmtpServer
from tests.conftest import csrf_token_from

TODAY = dt.date.today()


@pytest.fixture
def office(db, make_institution, make_programme, make_graduate, make_employer, make_user):
    """An institution's quality office: two programmes of the 2025 cohort, employers with
    and without an e-mail address, a graduate nobody employs; and another institution."""
    load_builtin_instruments(db)
    institution = make_institution(code="KARSHI", name="Karshi Institute")
    oil = make_programme(institution, code="OIL")
    gas = make_programme(institution, code="GAS")
    acme = make_employer(
        institution,
        name="Acme official",
        link_name="=HYPERLINK(acme)",
        contact_email="hr@acme.example",
        tax_number="111111111",
    )
    mute = make_employer(institution, name="Mute LLC", contact_email=None, tax_number="222222222")
    spare = make_employer(
        institution, name="Spare LLC", contact_email="hr@spare.example", tax_number="333333333"
    )
    graduates = {
        "aziza": make_graduate(oil, full_name="Aziza Karimova", student_number="S1"),
        "bek": make_graduate(oil, full_name="Bekzod Tursunov", student_number="S2"),
        "dil": make_graduate(gas, full_name="Dilnoza Rahimova", student_number="S3"),
        "nobody": make_graduate(gas, full_name="Nodira Yusupova", student_number="S4"),
    }
    employ(db, graduates["aziza"], acme)
    employ(db, graduates["bek"], acme)
    employ(db, graduates["dil"], mute)
    staff = make_user("staff", institution, email="quality@karshi.example")
    other = make_institution(code="OTHER")
    other_staff = make_user("staff", other, email="staff@other.example")
    committee = make_user("committee", email="committee@example.org")
    db.commit()
    return {
        "institution": institution,
        "programmes": (oil, gas),
        "employers": (acme, mute, spare),
        "graduates": graduates,
        "staff": staff,
        "other_staff": other_staff,
        "committee": committee,
        "version": latest_version(db, "attestation"),
    }


def _form(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return csrf_token_from(page.text)


def _create(client, office, **changes) -> tuple[int, object]:
    oil, gas = office["programmes"]
    data = {
        "csrf_token": _form(client, "/campaigns/new"),
        "name": "",
        "instrument_version": office["version"].id,
        "programmes": [oil.id, gas.id],
        "year": "2025",
        "opens_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "closes_on": (TODAY + dt.timedelta(days=30)).isoformat(),
        "language": "en",
        "reminder_days": "7, 14",
        "contact_email": "quality@karshi.example",
        "text_en": "Dear {employer}, please assess {graduate} ({programme}): {link} by {deadline}",
        **changes,
    }
    answer = client.post("/campaigns/new", data=data)
    return answer.status_code, answer


def test_create_checks_placeholders_and_dates_then_makes_a_draft(client, login, db, office):
    login(office["staff"])
    status, answer = _create(client, office, text_ru="Здравствуйте, {employe}: {link}")
    assert status == 422
    assert "Unknown placeholder {employe}: use {employer}, {graduate}" in answer.text
    # every wrong field is named at once, not one per try
    status, answer = _create(
        client,
        office,
        text_ru="Здравствуйте, {employe}: {link}",
        closes_on=(TODAY - dt.timedelta(days=5)).isoformat(),
    )
    assert status == 422 and "Unknown placeholder {employe}" in answer.text
    assert "The closing date is before the opening date." in answer.text
    status, answer = _create(client, office, text_uz="Hurmatli {employer}")
    assert status == 422 and "must contain {link}" in answer.text
    status, answer = _create(client, office, closes_on=(TODAY - dt.timedelta(days=5)).isoformat())
    assert status == 422 and "The closing date is before the opening date." in answer.text
    assert db.scalar(select(func.count()).select_from(Campaign)) == 0  # nothing half-made

    status, answer = _create(client, office)
    assert status == 303 and "/pairs" in answer.headers["Location"]
    campaign = db.scalars(select(Campaign)).one()
    assert campaign.status == CampaignStatus.DRAFT and campaign.reminder_days == [7, 14]
    assert campaign.name.endswith("2025 \u2014 Karshi Institute")
    pairs = client.get(answer.headers["Location"]).text
    assert "3 employer–graduate pairs are invited." in pairs
    # graduates nobody can be asked about by e-mail are listed, not skipped
    assert "Nodira Yusupova (GAS): no employment record" in pairs
    assert "Dilnoza Rahimova (GAS): the employer has no e-mail address" in pairs

    # a second draft for the same instrument, programme and year is refused by name
    status, answer = _create(client, office, name="Again")
    assert status == 422
    message = f"campaign {campaign.id} \u201c{campaign.name}\u201d (draft) already invites"
    assert message in html.unescape(answer.text)


def test_a_draft_may_be_empty_but_does_not_open_empty(client, login, db, office):
    login(office["staff"])
    status, answer = _create(client, office, year="2024")  # nobody of 2024 in the registry
    assert status == 303
    campaign = db.scalars(select(Campaign)).one()
    pairs = client.get(answer.headers["Location"]).text
    assert "0 employer–graduate pairs are invited." in pairs
    token = _form(client, f"/campaigns/{campaign.id}/pairs")
    answer = client.post(
        f"/campaigns/{campaign.id}/status",
        data={"csrf_token": token, "state": "open"},
        follow_redirects=True,
    )
    assert (
        "the campaign invites nobody, so it is not opened: the registry has no graduate of "
        "GAS, OIL (2024)" in html.unescape(answer.text)
    )
    db.expire_all()
    assert db.get(Campaign, campaign.id).status == CampaignStatus.DRAFT
    assert db.scalar(select(func.count()).select_from(Invitation)) == 0


def _upload(client, campaign_id: int, name: str, data: bytes):
    token = _form(client, f"/campaigns/{campaign_id}/pairs")
    return client.post(
        f"/campaigns/{campaign_id}/pairs/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_pairs_are_added_by_hand_and_from_a_file_all_or_nothing(client, login, db, office):
    login(office["staff"])
    _create(client, office)
    campaign = db.scalars(select(Campaign)).one()
    spare = office["employers"][2]
    nobody = office["graduates"]["nobody"]
    token = _form(client, f"/campaigns/{campaign.id}/pairs")
    added = client.post(
        f"/campaigns/{campaign.id}/pairs/add",
        data={"csrf_token": token, "graduate": nobody.id, "employer": spare.id},
        follow_redirects=True,
    )
    assert "Pair added." in added.text and "4 employer–graduate pairs" in added.text
    again = client.post(
        f"/campaigns/{campaign.id}/pairs/add",
        data={"csrf_token": token, "graduate": nobody.id, "employer": spare.id},
        follow_redirects=True,
    )
    assert "Spare LLC is already invited to assess Nodira Yusupova" in again.text

    bad = b"student_number,tax_number\nS4,111111111\nS99,111111111\nS1,999\n"
    answer = _upload(client, campaign.id, "pairs.csv", bad)
    assert answer.status_code == 422
    assert "row 3: no graduate with student number \u201cS99\u201d" in answer.text
    assert "row 4: no employer with tax number \u201c999\u201d in your registry" in answer.text
    assert "nothing was added" in answer.text
    assert db.scalar(select(func.count()).select_from(Invitation)) == 4

    book = Workbook()
    sheet = book.active
    sheet.append(["student_number", "tax_number"])
    sheet.append(["S4", "111111111"])
    sheet.append(["S3", "333333333"])
    buffer = io.BytesIO()
    book.save(buffer)
    answer = _upload(client, campaign.id, "pairs.xlsx", buffer.getvalue())
    assert answer.status_code == 303
    assert db.scalar(select(func.count()).select_from(Invitation)) == 6

    # leave one out, then open the campaign
    first = db.scalars(select(Invitation).order_by(Invitation.id)).first()
    token = _form(client, f"/campaigns/{campaign.id}/pairs")
    client.post(f"/campaigns/{campaign.id}/pairs/{first.id}/exclude", data={"csrf_token": token})
    assert db.scalar(select(func.count()).select_from(Invitation)) == 5
    opened = client.post(
        f"/campaigns/{campaign.id}/status",
        data={"csrf_token": token, "state": "open"},
        follow_redirects=True,
    )
    assert "The campaign is open now." in opened.text
    db.expire_all()
    assert db.get(Campaign, campaign.id).status == CampaignStatus.OPEN


def _open_campaign(client, db, office) -> Campaign:
    _create(client, office)
    campaign = db.scalars(select(Campaign)).one()
    token = _form(client, f"/campaigns/{campaign.id}/pairs")
    client.post(f"/campaigns/{campaign.id}/status", data={"csrf_token": token, "state": "open"})
    db.expire_all()
    return db.get(Campaign, campaign.id)


def _submit(db, invitation: Invitation, comment: str = "Reliable and careful") -> None:
    response = Response(
        invitation_id=invitation.id,
        instrument_version_id=invitation.campaign.instrument_version_id,
        status=ResponseStatus.SUBMITTED,
        submitted_at=utcnow(),
    )
    db.add(response)
    db.flush()
    db.add(Answer(response_id=response.id, item_key="strengths", text=comment))
    db.commit()


def test_campaign_page_counts_filters_searches_pages_and_exports(
    client, login, db, office, monkeypatch
):
    login(office["staff"])
    campaign = _open_campaign(client, db, office)
    invitations = db.scalars(select(Invitation).order_by(Invitation.id)).all()
    _submit(db, invitations[0])
    page = client.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200
    overall = re.search(r"<tr data-overall>(.*?)</tr>", page.text, re.S).group(1)
    numbers = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', overall)
    # invited, sent, opened, saved, submitted, rate, refused: the submitted link was never
    # e-mailed (handed over another way), so nothing counts as sent, as on the list
    assert numbers == ["3", "0", "1", "0", "1", "33.3 %", "0"]
    listed = client.get("/campaigns/").text
    assert re.search(r"<td[^>]*>3</td>\s*<td[^>]*>0</td>\s*<td[^>]*>1</td>", listed)
    assert '<th scope="row">GAS</th>' in page.text and '<th scope="row">OIL</th>' in page.text
    assert "Responses per day" in page.text or "chart-responses-per-day" in page.text
    for lang in ("ru", "uz"):  # no two columns of the numbers with one name
        numbers_table = client.get(f"/campaigns/{campaign.id}?lang={lang}").text.split("</table>")[
            0
        ]
        headers = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', numbers_table)
        assert len(headers) == 8 and len(set(headers)) == 8, headers
    client.get(f"/campaigns/{campaign.id}?lang=en")
    schedule = re.search(r"<p data-reminder-schedule>(.*?)</p>", page.text).group(1)
    assert schedule == "Reminders: 7, 14 days after the invitation"

    submitted = client.get(f"/campaigns/{campaign.id}?status=submitted").text
    assert "Aziza Karimova" in submitted and "Bekzod Tursunov" not in submitted
    found = client.get(f"/campaigns/{campaign.id}?q=bekzod").text
    assert "Bekzod Tursunov" in found and "Aziza Karimova" not in found
    assert "1 invitation" in found
    monkeypatch.setattr(workspace, "PER_PAGE", 2)
    first = client.get(f"/campaigns/{campaign.id}").text
    assert "Page 1 of 2" in first
    second = client.get(f"/campaigns/{campaign.id}?page=2").text
    assert "Dilnoza Rahimova" in second and "Aziza Karimova" not in second

    exported = client.get(f"/campaigns/{campaign.id}/invitations.csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["Employer", "E-mail", "Graduate", "Programme", "Status", "Sent", "Link"]
    assert rows[1][0] == "'=HYPERLINK(acme)"  # neutralised, never a formula
    assert rows[1][6] == f"http://hamkor.test/s/{token_for(invitations[0].nonce, SECRET)}"
    book = load_workbook(
        io.BytesIO(client.get(f"/campaigns/{campaign.id}/invitations.xlsx?status=open").data)
    )
    values = list(book.active.values)
    assert len(values) == 3  # header + the two links that still open a form
    assert {v[2] for v in values[1:]} == {"Bekzod Tursunov", "Dilnoza Rahimova"}

    letters = client.get(f"/campaigns/{campaign.id}/letters").text
    assert letters.count("<svg") == 2  # one QR code per open link
    assert token_for(invitations[1].nonce, SECRET) in letters


def test_staff_read_a_submitted_form_committees_never(client, login, db, office):
    login(office["staff"])
    campaign = _open_campaign(client, db, office)
    invitation = db.scalars(select(Invitation).order_by(Invitation.id)).first()
    assert client.get(f"/campaigns/invitations/{invitation.id}/response").status_code == 404
    _submit(db, invitation, comment="Reliable and careful with safety rules")
    page = client.get(f"/campaigns/invitations/{invitation.id}/response")
    assert page.status_code == 200
    assert "Reliable and careful with safety rules" in page.text
    assert "Aziza Karimova" in page.text
    client.post("/logout", data={"csrf_token": csrf_token_from(page.text)})
    login(office["committee"])
    assert client.get(f"/campaigns/invitations/{invitation.id}/response").status_code == 403
    assert client.get(f"/campaigns/{campaign.id}").status_code == 403


def test_staff_of_another_institution_can_neither_see_nor_change(client, login, db, office):
    login(office["staff"])
    campaign = _open_campaign(client, db, office)
    invitation = db.scalars(select(Invitation)).first()
    token = _form(client, f"/campaigns/{campaign.id}")
    client.post("/logout", data={"csrf_token": token})
    login(office["other_staff"])
    own_token = _form(client, "/campaigns/")
    for url in (
        f"/campaigns/{campaign.id}",
        f"/campaigns/{campaign.id}/edit",
        f"/campaigns/{campaign.id}/pairs",
        f"/campaigns/{campaign.id}/invitations.csv",
        f"/campaigns/{campaign.id}/letters",
    ):
        assert client.get(url).status_code == 403, url
    for url, data in (
        (f"/campaigns/invitations/{invitation.id}/withdraw", {}),
        (f"/campaigns/invitations/{invitation.id}/reissue", {}),
        (f"/campaigns/{campaign.id}/status", {"state": "closed"}),
        (f"/campaigns/{campaign.id}/send", {"mode": "invite"}),
    ):
        assert client.post(url, data={"csrf_token": own_token, **data}).status_code == 403, url
    assert campaign.name not in client.get("/campaigns/").text
    db.expire_all()
    assert db.get(Invitation, invitation.id).withdrawn_at is None
    assert db.get(Campaign, campaign.id).status == CampaignStatus.OPEN


def test_withdraw_and_reissue_buttons(client, login, db, office):
    login(office["staff"])
    campaign = _open_campaign(client, db, office)
    invitation = db.scalars(select(Invitation).order_by(Invitation.id)).first()
    old = token_for(invitation.nonce, SECRET)
    token = _form(client, f"/campaigns/{campaign.id}")
    page = client.post(
        f"/campaigns/invitations/{invitation.id}/withdraw",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "Link withdrawn" in page.text
    assert 'data-status="withdrawn"' in page.text
    assert "This invitation was withdrawn" in client.get(f"/s/{old}").text
    page = client.post(
        f"/campaigns/invitations/{invitation.id}/reissue",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "New link made" in page.text
    db.expire_all()
    new = token_for(db.get(Invitation, invitation.id).nonce, SECRET)
    assert client.get(f"/s/{old}").status_code == 404
    assert client.get(f"/s/{new}").status_code == 200


def test_send_button_runs_the_batch_as_a_job(app, client, login, db, office):
    server = SmtpServer().start()
    try:
        app.config.update(server.config)
        login(office["staff"])
        campaign = _open_campaign(client, db, office)
        token = _form(client, f"/campaigns/{campaign.id}")
        answer = client.post(
            f"/campaigns/{campaign.id}/send", data={"csrf_token": token, "mode": "invite"}
        )
        assert answer.status_code == 303 and "/jobs/" in answer.headers["Location"]
        job_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        deadline = time.monotonic() + 30
        while True:
            client.get("/campaigns/")  # a request lets the thread backend run the job
            db.expire_all()
            job = db.get(Job, job_id)
            if job.state in (JobState.SUCCEEDED, JobState.FAILED):
                break
            assert time.monotonic() < deadline, job.state
            time.sleep(0.1)
        assert job.state == JobState.SUCCEEDED, job.error
        assert job.result["sent"] == 2  # the third employer has no e-mail address
        assert sorted(m["To"] for m in server.recorder.messages) == [
            "hr@acme.example",
            "hr@acme.example",
        ]
        result = client.get(f"/jobs/{job_id}").text
        assert "2 sent, 0 refused, 0 to try again later." in result
    finally:
        server.stop()
