"""Invitations and reminders over SMTP to a real server (aiosmtpd): content, schedule,
crash safety, refusals and an unreachable server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from surveys.campaigns.delivery import (
    IN_FLIGHT_LEASE,
    MAX_TRIES,
    DeliveryError,
    backoff,
    deliver,
)
from surveys.campaigns.mail import Mailer, SmtpSettings
from surveys.campaigns.models import (
    CampaignStatus,
    DeliveryAttempt,
    DeliveryState,
    Invitation,
)
from surveys.campaigns.services import create_invitations
from surveys.extensions import db as _db
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.orm import utcnow
from surveys.registry.models import EmployerLink, Graduate
from surveys.responses.models import Response, ResponseStatus
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.campaigns.smtp import SmtpServer, bodies
from tests.processes import free_port

TODAY = dt.date.today()


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    app.config.update(server.config)
    yield server
    server.stop()


@pytest.fixture
def campaign(db, make_institution, make_programme, make_graduate, make_employer):
    """An open campaign (reminders 7 and 14 days after the invitation) inviting three
    employers, one of them in Russian; the institution names them its own way."""
    load_builtin_instruments(db)
    institution = make_institution(code="KARSHI", name="Karshi Institute")
    programme = make_programme(institution, code="OIL")
    employers = [
        make_employer(
            institution,
            name=f"Official {n} JSC",
            link_name=f"Our partner {n}",
            contact_email=f"hr{n}@example.org",
        )
        for n in range(3)
    ]
    for n, employer in enumerate(employers):
        employ(
            db, make_graduate(programme, graduation_year=2025, full_name=f"Graduate {n}"), employer
        )
    campaign = campaign_for(
        db,
        latest_version(db, "attestation"),
        [programme],
        opens_on=TODAY - dt.timedelta(days=1),
        closes_on=TODAY + dt.timedelta(days=30),
        reminder_days=[7, 14],
        contact_email="quality@karshi.example",
    )
    invitations = create_invitations(db, campaign, secret_key=SECRET, language="en")
    invitations[2].language = "ru"
    db.commit()
    return campaign


def _deliver(app, campaign_id, mode, **kw):
    with app.app_context():
        return deliver(_db.engine, campaign_id, mode, config=app.config, **kw)


def _invitations(db, campaign):
    db.expire_all()
    return list(
        db.scalars(
            select(Invitation).where(Invitation.campaign_id == campaign.id).order_by(Invitation.id)
        )
    )


def test_invitations_go_out_once_with_link_deadline_contact_and_decline(
    app, client, runner, db, smtp, campaign
):
    result = runner.invoke(["invitations", "send", "--campaign", str(campaign.id)])
    assert result.exit_code == 0, result.output
    assert f"Campaign {campaign.id}: 3 invitation(s) sent, 0 refused" in result.output
    assert len(smtp.recorder.messages) == 3
    assert smtp.recorder.sessions == 1  # one connection for the whole batch

    rows = json.loads(runner.invoke(["invitations", "list", "--format", "json"]).output)
    by_email = {row["email"]: row for row in rows}
    english = smtp.recorder.to("hr0@example.org")[0]
    text, html = bodies(english)
    link = by_email["hr0@example.org"]["link"]
    assert english["Subject"] == "Karshi Institute asks for your assessment of Graduate 0"
    assert english["Reply-To"] == "quality@karshi.example"
    assert english["Content-Language"] == "en"
    for part in (text, html):
        assert link in part and f"{link}/decline" in part
        assert (TODAY + dt.timedelta(days=30)).isoformat() in part
        assert "quality@karshi.example" in part
        assert "Our partner 0" in part and "Official 0 JSC" not in part  # the link's name
    russian = smtp.recorder.to("hr2@example.org")[0]
    assert russian["Content-Language"] == "ru"
    assert any("\u0400" <= ch <= "\u04ff" for ch in russian["Subject"])  # Cyrillic

    # the statuses move: sent, then opened once the employer follows the link
    assert {row["status"] for row in rows} == {"sent"}
    assert b"survey-form" in client.get(link.removeprefix("http://hamkor.test")).data
    rows = json.loads(runner.invoke(["invitations", "list", "--format", "json"]).output)
    assert sorted(row["status"] for row in rows) == ["opened", "sent", "sent"]

    # a rerun (cron) sends nothing
    again = runner.invoke(["invitations", "send", "--campaign", str(campaign.id)])
    assert "0 invitation(s) sent" in again.output and len(smtp.recorder.messages) == 3
    attempts = db.scalars(select(DeliveryAttempt)).all()
    assert [(a.step, a.state, a.smtp_code) for a in attempts] == [(0, DeliveryState.SENT, 250)] * 3


def test_reminders_follow_the_schedule_and_skip_submitted_and_declined(app, db, smtp, campaign):
    start = utcnow()
    assert _deliver(app, campaign.id, "invite", now=start).sent == 3
    submitted, declined, waiting = _invitations(db, campaign)
    db.add(
        Response(
            invitation_id=submitted.id,
            instrument_version_id=campaign.instrument_version_id,
            status=ResponseStatus.SUBMITTED,
            submitted_at=utcnow(),
        )
    )
    db.get(Invitation, declined.id).declined_at = utcnow()
    db.commit()

    def remind(days: float) -> int:
        return _deliver(app, campaign.id, "remind", now=start + dt.timedelta(days=days)).sent

    assert remind(6.9) == 0
    assert remind(7) == 1
    assert remind(8) == 0  # the 7-day step went once
    assert remind(14) == 1
    assert remind(25) == 0  # the schedule is done
    reminders = smtp.recorder.messages[3:]
    assert [m["To"] for m in reminders] == [waiting.email, waiting.email]
    assert [m["Message-ID"].split("@")[0] for m in reminders] == [
        f"<hamkor.{waiting.id}.1.1",
        f"<hamkor.{waiting.id}.1.2",
    ]
    # the waiting employer reads Russian: a reminder, in Russian
    assert reminders[0]["Subject"].startswith("Напоминание")
    assert "Это напоминание" in bodies(reminders[0])[0]
    assert _invitations(db, campaign)[2].reminder_count == 2


def test_a_run_that_missed_a_step_sends_the_latest_only(app, db, smtp, campaign):
    start = utcnow()
    _deliver(app, campaign.id, "invite", now=start)
    assert _deliver(app, campaign.id, "remind", now=start + dt.timedelta(days=20)).sent == 3
    assert _deliver(app, campaign.id, "remind", now=start + dt.timedelta(days=21)).sent == 0
    assert {i.reminder_count for i in _invitations(db, campaign)} == {2}


class CrashingMailer(Mailer):
    """Dies (as a killed process would) when asked to send message number ``crash_at``."""

    def __init__(self, settings, crash_at: int) -> None:
        super().__init__(settings)
        self.calls, self.crash_at = 0, crash_at

    def send(self, message):
        self.calls += 1
        if self.calls == self.crash_at:
            raise KeyboardInterrupt("killed")
        return super().send(message)


def test_a_batch_resumed_after_a_crash_sends_each_message_once(app, db, smtp, campaign):
    now = utcnow()
    with (
        CrashingMailer(SmtpSettings.from_config(app.config), crash_at=3) as mailer,
        pytest.raises(KeyboardInterrupt),
    ):
        _deliver(app, campaign.id, "invite", now=now, mailer=mailer)
    assert len(smtp.recorder.messages) == 2
    # the third was claimed and never handed over: a rerun within the lease leaves it alone
    # (another batch could be sending it) …
    assert _deliver(app, campaign.id, "invite", now=now).sent == 0
    # … and after the lease sends it, with the same Message-ID as its claimed try
    later = now + IN_FLIGHT_LEASE
    assert _deliver(app, campaign.id, "invite", now=later).sent == 1
    assert _deliver(app, campaign.id, "invite", now=later).sent == 0
    recipients = sorted(m["To"] for m in smtp.recorder.messages)
    assert recipients == ["hr0@example.org", "hr1@example.org", "hr2@example.org"]
    tries = db.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [(a.try_number, a.state) for a in tries][-2:] == [
        (1, DeliveryState.SENDING),
        (2, DeliveryState.SENT),
    ]
    assert tries[-1].message_id == tries[-2].message_id


def test_mail_server_down_is_recorded_and_retried_later(app, runner, db, smtp, campaign):
    app.config["HAMKOR_SMTP_PORT"] = free_port()  # nobody listens there
    result = runner.invoke(["invitations", "send", "--campaign", str(campaign.id)])
    assert result.exit_code == 1
    assert "the mail server is unreachable" in result.output
    # the batch stopped at the first message; the others it had claimed are due again
    first, *untried = db.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert first.state == DeliveryState.RETRY and first.smtp_code is None
    assert "ConnectionRefused" in first.smtp_reply
    assert first.next_try_at == first.started_at + backoff(1)
    assert [(a.state, a.next_try_at) for a in untried] == [
        (DeliveryState.RETRY, a.started_at) for a in untried
    ]

    app.config["HAMKOR_SMTP_PORT"] = smtp.port
    now = utcnow()
    assert _deliver(app, campaign.id, "invite", now=now).sent == 2  # the others now
    assert _deliver(app, campaign.id, "invite", now=now + backoff(1)).sent == 1
    assert len(smtp.recorder.messages) == 3


def test_refused_and_deferred_addresses(app, runner, db, smtp, campaign):
    smtp.recorder.refuse.add("hr0@example.org")
    smtp.recorder.defer.add("hr1@example.org")
    now = utcnow()
    result = _deliver(app, campaign.id, "invite", now=now)
    assert (result.sent, result.failed, result.retry_later) == (1, 1, 1)
    rows = json.loads(runner.invoke(["invitations", "list", "--format", "json"]).output)
    assert {r["email"]: r["status"] for r in rows} == {
        "hr0@example.org": "failed",
        "hr1@example.org": "not_sent",
        "hr2@example.org": "sent",
    }
    refused = db.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.email == "hr0@example.org")
    ).one()
    assert refused.smtp_code == 550 and "No such user here" in refused.smtp_reply
    # the deferred address is tried again after each back-off, then given up
    moment = now
    for try_number in range(1, MAX_TRIES):
        assert _deliver(app, campaign.id, "invite", now=moment).sent == 0
        moment += backoff(try_number)
        result = _deliver(app, campaign.id, "invite", now=moment)
        assert result.retry_later + result.failed == 1
    assert result.failed == 1
    deferred = db.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.email == "hr1@example.org")
        .order_by(DeliveryAttempt.try_number)
    ).all()
    assert [a.try_number for a in deferred] == list(range(1, MAX_TRIES + 1))
    assert deferred[-1].state == DeliveryState.FAILED and deferred[0].smtp_code == 451
    assert _deliver(app, campaign.id, "invite", now=moment + dt.timedelta(days=1)).sent == 0


def test_only_an_open_campaign_is_mailed(app, runner, db, smtp, campaign):
    db.get(type(campaign), campaign.id).status = CampaignStatus.CLOSED
    db.commit()
    result = runner.invoke(["invitations", "send", "--campaign", str(campaign.id)])
    assert result.exit_code == 2 and "is closed" in result.output
    with pytest.raises(DeliveryError, match="no campaign with id 999"):
        _deliver(app, 999, "invite")
    assert smtp.recorder.messages == []


def test_names_are_escaped_in_the_html_part_and_the_link_is_clickable(app, db, smtp, campaign):
    # the messages are rendered once per language and step, and each fills in its names:
    # what an employer reads must be its own, escaped in HTML, and in every language
    # the first invitation, in English (without an order, PostgreSQL may return another first)
    link = db.scalars(
        select(Invitation).where(Invitation.campaign_id == campaign.id).order_by(Invitation.id)
    ).first()
    employer_link = db.scalars(
        select(EmployerLink).where(EmployerLink.employer_id == link.employer_id)
    ).one()
    employer_link.name = 'Tom & <b>"Jerry"</b> LLC'
    db.get(Graduate, link.graduate_id).full_name = "Ольга <Ким>"
    db.commit()
    assert _deliver(app, campaign.id, "invite").sent == 3
    message = smtp.recorder.to(link.email)[0]
    text, html = bodies(message)
    assert 'Dear Tom & <b>"Jerry"</b> LLC,' in text
    assert "Tom &amp; &lt;b&gt;&#34;Jerry&#34;&lt;/b&gt; LLC" in html and "<b>" not in html
    assert "Ольга &lt;Ким&gt;" in html and "Ольга <Ким>" in text
    assert message["Subject"] == "Karshi Institute asks for your assessment of Ольга <Ким>"
    personal = "http://hamkor.test/s/"
    # the link in the text is an anchor in the HTML part, the same as the button's
    anchors = [a for a in html.split('href="')[1:] if a.startswith(personal)]
    assert len(anchors) == 3  # the text's link, the button, the decline link
    assert anchors[0].split('"')[0] == anchors[1].split('"')[0]
    # the other two employers got their own names and links
    others = [m for m in smtp.recorder.messages if m["To"] != link.email]
    assert all("Jerry" not in bodies(m)[0] and "Ольга" not in m["Subject"] for m in others)
    assert len({bodies(m)[0] for m in smtp.recorder.messages}) == 3


def test_a_batch_hands_its_connections_back_as_it_found_them(app, db, smtp, campaign):
    # the batch commits without waiting for the disk on its own connection only
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    setting = "SHOW synchronous_commit" if postgresql else "PRAGMA synchronous"
    with app.app_context():
        _db.engine.dispose()
        with _db.engine.connect() as conn:
            default = conn.exec_driver_sql(setting).scalar()
        _db.engine.dispose()
        _deliver(app, campaign.id, "invite")
        with _db.engine.connect() as first, _db.engine.connect() as second:  # the batch's two
            assert first.exec_driver_sql(setting).scalar() == default
            assert second.exec_driver_sql(setting).scalar() == default


def test_an_address_with_a_line_break_is_refused_not_sent_elsewhere(app, db, smtp, campaign):
    # an address cannot inject a header (Bcc) nor be "repaired" into another address
    invitation = _invitations(db, campaign)[0]
    invitation.email = "hr0@example.org\r\nBcc: someone@elsewhere.example"
    db.commit()
    result = _deliver(app, campaign.id, "invite")
    assert (result.sent, result.failed) == (2, 1)
    assert all(m["Bcc"] is None for m in smtp.recorder.messages)
    assert sorted(m["To"] for m in smtp.recorder.messages) == [
        "hr1@example.org",
        "hr2@example.org",
    ]
    refused = db.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.invitation_id == invitation.id)
    ).one()
    assert refused.state == DeliveryState.FAILED and refused.smtp_code == 553
