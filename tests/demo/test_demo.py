"""``hamkor demo``: a believable data set, the same for the same seed."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import create_engine, select

from surveys import create_app
from surveys.auth.passwords import verify_password
from surveys.demo.generator import DEMO_EMAILS
from surveys.extensions import db as _db
from surveys.models import (
    Campaign,
    CampaignStatus,
    EmployerLink,
    Graduate,
    Invitation,
    Response,
    ResponseStatus,
    User,
)
from surveys.orm import Base
from tests.test_search import stale_search_rows

#: Columns that hold secrets or wall-clock times: they differ between two runs by design.
VOLATILE = {
    "nonce",
    "token_hash",
    "password_hash",
    "session_epoch",
    "created_at",
    "updated_at",
    "published_at",
    "at",
    "changed_at",
}


def _fingerprint(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    data = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE]
            order = list(table.primary_key.columns) or columns
            rows = conn.execute(select(*columns).order_by(*order)).all()
            data[table.name] = [tuple(row) for row in rows]
    engine.dispose()
    return data


def test_demo_is_realistic_and_the_same_for_the_same_seed(app, runner, database_url, tmp_path):
    result = runner.invoke(["demo", "--seed", "7"])
    assert result.exit_code == 0, result.output
    out = result.output
    passwords = dict(re.findall(r"(\S+@\S+)\s+\w+\s+password: (\S+)", out))
    assert {"admin@hamkor.example", "staff@qmiing.example", "committee@hamkor.example"} <= set(
        passwords
    )
    links = re.findall(r"http://hamkor\.test/s/[A-Za-z0-9_-]{43}", out)
    assert len(links) == 5

    with app.app_context():
        session = _db.session
        graduates = session.scalar(select(_db.func.count()).select_from(Graduate))
        submitted = session.scalars(
            select(Response).where(Response.status == ResponseStatus.SUBMITTED)
        ).all()
        drafts = session.scalars(
            select(Response).where(Response.status == ResponseStatus.DRAFT)
        ).all()
        assert 1300 <= graduates <= 1700
        assert 2500 <= len(submitted) <= 3500
        assert drafts
        assert any(a.not_applicable for r in submitted[:200] for a in r.answers)
        open_campaigns = session.scalars(
            select(Campaign).where(Campaign.status == CampaignStatus.OPEN)
        ).all()
        assert open_campaigns and all(c.is_accepting(dt.date.today()) for c in open_campaigns)
        # the open campaigns remind a week and two weeks after the invitation
        assert all(list(c.reminder_days) == [7, 14] for c in open_campaigns)
        unanswered = session.scalars(
            select(Invitation)
            .where(Invitation.campaign_id.in_([c.id for c in open_campaigns]))
            .where(~Invitation.id.in_(select(Response.invitation_id)))
        ).all()
        assert len(unanswered) > 20
        # a few enterprises work with both institutions: one identity (one rater id), and
        # each institution's own name for it and contact, which its invitations use
        shared = session.execute(
            select(EmployerLink.employer_id)
            .group_by(EmployerLink.employer_id)
            .having(_db.func.count() > 1)
        ).all()
        assert len(shared) == 4
        for (employer_id,) in shared:
            links = session.scalars(
                select(EmployerLink).where(EmployerLink.employer_id == employer_id)
            ).all()
            assert len({link.contact_email for link in links}) == 2
            for link in links:
                emails = session.scalars(
                    select(Invitation.email)
                    .join(Campaign, Campaign.id == Invitation.campaign_id)
                    .where(
                        Invitation.employer_id == employer_id,
                        Campaign.institution_id == link.institution_id,
                    )
                ).all()
                assert set(emails) <= {link.contact_email}
        assert stale_search_rows(session) == []

    # the same seed on a second, empty database gives the same rows (secrets aside)
    other_url = f"sqlite:///{tmp_path / 'second.db'}"
    other = create_app(
        {"SQLALCHEMY_DATABASE_URI": other_url, "SECRET_KEY": "other", "TESTING": True}
    )
    with other.app_context():
        from click.testing import CliRunner

        from surveys.cli import main

        second = CliRunner().invoke(main, ["demo", "--seed", "7"])
        assert second.exit_code == 0, second.output
        _db.engine.dispose()
    assert _fingerprint(database_url) == _fingerprint(other_url)

    # a second run on the same database keeps the data and only renews the demo's passwords:
    # accounts made by hand keep theirs, even with an e-mail that looks like the demo's
    with app.app_context():
        from surveys.admin.services import create_user

        for email in ("quality@tdtu.example", "boss@hamkor.example"):
            create_user(_db.session, email=email, role="admin", password="typed by a person")
        _db.session.commit()
        hand_made = {
            u.email: u.password_hash
            for u in _db.session.scalars(select(User).where(User.email.like("%.example")))
            if u.email not in DEMO_EMAILS
        }
    assert len(hand_made) == 2
    again = runner.invoke(["demo", "--seed", "7"])
    assert again.exit_code == 0, again.output
    assert "already in this database" in again.output
    new_passwords = dict(re.findall(r"(\S+@\S+)\s+\w+\s+password: (\S+)", again.output))
    assert new_passwords.keys() == passwords.keys() == set(DEMO_EMAILS)
    assert all(new_passwords[k] != passwords[k] for k in passwords)
    with app.app_context():
        for email, password_hash in hand_made.items():
            user = _db.session.scalars(select(User).where(User.email == email)).one()
            assert user.password_hash == password_hash, email
            assert verify_password(user.password_hash, "typed by a person")
