"""A small seeded world of two institutions, for tests that walk every endpoint.

Institution A has a staff member, a committee member assigned to it, and one object of every
kind (programme, graduate, employer, agreement, internship, employment, campaign, invitation,
response); institution B has the same objects and its own staff member. ``World.params``
gives the URL parameter values of A's objects, ``World.other_params`` those of B's, so an
access test can build any endpoint's URL and check that A's staff cannot reach B's objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from surveys.api.tokens import create_token
from surveys.campaigns.tokens import assign_token
from surveys.models import (
    AgreementKind,
    Campaign,
    CampaignStatus,
    CommitteeAssignment,
    EmploymentRecord,
    Instrument,
    InstrumentVersion,
    Internship,
    Invitation,
    PartnershipAgreement,
    Response,
    ResponseStatus,
    User,
)
from surveys.orm import utcnow
from tests import factories
from tests.campaigns.builders import SECRET

#: URL parameters whose objects belong to one institution: A's staff must get 403/404 for B's.
INSTITUTION_OWNED_PARAMS = frozenset(
    {
        "institution_id",
        "programme_id",
        "graduate_id",
        "employer_id",
        "agreement_id",
        "internship_id",
        "employment_id",
        "campaign_id",
        "invitation_id",
        "response_id",
        "user_id",
    }
)


@dataclasses.dataclass
class World:
    admin: User
    staff: User  #: staff of institution A
    other_staff: User  #: staff of institution B
    committee: User  #: committee member assigned to institution A
    params: dict[str, Any]  #: URL parameter values of institution A's objects
    other_params: dict[str, Any]  #: the same for institution B


def _institution_objects(
    session: Session, instrument: Instrument, version: InstrumentVersion, tag: str
) -> dict[str, Any]:
    institution = factories.make_institution(session, code=f"INST-{tag}", name=f"Institute {tag}")
    programme = factories.make_programme(session, institution, code=f"PRG-{tag}")
    graduate = factories.make_graduate(session, programme, full_name=f"Graduate {tag} Secretname")
    employer = factories.make_employer(session, name=f"Enterprise {tag}")
    institution.employers.append(employer)
    agreement = PartnershipAgreement(
        institution=institution,
        employer=employer,
        kind=AgreementKind.INTERNSHIP,
        number=f"AG-{tag}",
        signed_on=dt.date(2024, 1, 10),
        valid_from=dt.date(2024, 2, 1),
    )
    internship = Internship(
        graduate=graduate, employer=employer, agreement=agreement, start_date=dt.date(2024, 6, 1)
    )
    employment = EmploymentRecord(
        graduate=graduate, employer=employer, position="Engineer", start_date=dt.date(2025, 8, 1)
    )
    campaign = Campaign(
        institution=institution,
        instrument_version=version,
        name=f"Attestation {tag} 2025",
        year=2025,
        opens_on=dt.date(2025, 9, 1),
        closes_on=dt.date(2025, 12, 31),
        status=CampaignStatus.OPEN,
        programmes=[programme],
    )
    invitation = Invitation(
        campaign=campaign, employer=employer, graduate=graduate, email=employer.contact_email
    )
    token = assign_token(invitation, SECRET)
    response = Response(
        invitation=invitation,
        instrument_version=version,
        status=ResponseStatus.SUBMITTED,
        submitted_at=utcnow(),
    )
    session.add_all([agreement, internship, employment, campaign, invitation, response])
    session.flush()
    return {
        "institution": institution,
        "params": {
            "institution_id": institution.id,
            "programme_id": programme.id,
            "graduate_id": graduate.id,
            "employer_id": employer.id,
            "agreement_id": agreement.id,
            "internship_id": internship.id,
            "employment_id": employment.id,
            "campaign_id": campaign.id,
            "invitation_id": invitation.id,
            "response_id": response.id,
            "token": token,  # the invitation's personal link (public pages)
            # not institution-owned: the same in both worlds
            "instrument_id": instrument.id,
            "version_id": version.id,
            "instrument_version_id": version.id,
            "instrument_key": instrument.key,
            "key": instrument.key,
            "version": version.version,
            "year": 2025,
            "kind": "graduates",
        },
    }


def seed_world(session: Session) -> World:
    """Build the world in ``session`` and commit it (requests must see it)."""
    from surveys.instruments.services import load_definition, read_definition_file

    builtin = Path(__file__).resolve().parent.parent / "surveys/instruments/builtin"
    version, _ = load_definition(session, read_definition_file(builtin / "attestation.yaml"))
    instrument = version.instrument
    a = _institution_objects(session, instrument, version, "A")
    b = _institution_objects(session, instrument, version, "B")
    admin = factories.make_user(session, "admin", email="admin@world.example")
    staff = factories.make_user(session, "staff", a["institution"], email="staff-a@world.example")
    other_staff = factories.make_user(
        session, "staff", b["institution"], email="staff-b@world.example"
    )
    committee = factories.make_user(session, "committee", email="committee@world.example")
    session.add(CommitteeAssignment(user=committee, institution=a["institution"]))
    session.flush()
    token, _text = create_token(session, staff, name="world script", lifetime_days=90)
    other_token, _text = create_token(session, other_staff, name="world script", lifetime_days=90)
    params = {**a["params"], "user_id": staff.id, "token_id": token.id}
    other_params = {**b["params"], "user_id": other_staff.id, "token_id": other_token.id}
    session.commit()
    return World(admin, staff, other_staff, committee, params, other_params)


def logged_in_client(app: Any, user: User | None, password: str = "correct horse battery"):
    """A new test client, logged in as ``user`` through the real form (None: anonymous)."""
    from tests.conftest import csrf_token_from

    client = app.test_client()
    if user is None:
        return client
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, f"login of {user.email} failed"
    return client
