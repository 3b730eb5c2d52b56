"""A seeded world for the dashboard: two institutions, programmes of very different sizes.

Institution TDTU has MECH (30 responses in 2024, rated low; 32 in 2025, rated high, so the
changes are significant), CHEM (12 in 2025), MINE (8 in 2025) and ELEC (3 in 2025: below
``min_n``, so one more programme is hidden by secondary suppression). Institution SAMDU has
one programme (10 responses). Every employer rates two graduates (raters cluster), answers
free-text items, and has a contact person; every name, e-mail, student number and free text
is listed in :data:`SECRETS`, which no committee page may show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

from sqlalchemy.orm import Session

from surveys.campaigns.services import create_invitations
from surveys.instruments.definitions import numeric_items
from surveys.instruments.services import load_definition, read_definition_file
from surveys.models import (
    AgreementKind,
    CommitteeAssignment,
    Employer,
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
    Response,
    ResponseStatus,
    User,
)
from surveys.orm import utcnow
from surveys.responses.models import Answer
from tests import factories
from tests.campaigns.builders import SECRET, campaign_for

BUILTIN = Path(__file__).resolve().parents[2] / "surveys/instruments/builtin"

#: (institution, programme, year, responses, mean quality on 1..5)
PLAN = (
    ("TDTU", "MECH", 2024, 30, 2.8),
    ("TDTU", "MECH", 2025, 32, 4.5),
    ("TDTU", "CHEM", 2025, 12, 3.6),
    ("TDTU", "MINE", 2025, 8, 3.9),
    ("TDTU", "ELEC", 2025, 3, 3.0),
    ("SAMDU", "OTHER", 2025, 10, 3.5),
)
NAMES = {
    "MECH": "Mechanical engineering",
    "CHEM": "Chemical technology",
    "MINE": "Mining",
    "ELEC": "Electrical power engineering",
    "OTHER": "Philology",
}
FREE_TEXT = "Zulfiya was late twice SECRETFREETEXT"


@dataclasses.dataclass
class DashboardWorld:
    institutions: dict[str, Institution]
    programmes: dict[str, Programme]
    staff: User  #: staff of TDTU
    other_staff: User  #: staff of SAMDU
    member: User  #: committee member assigned to the whole of TDTU
    expert: User  #: committee member assigned to MECH only
    admin: User
    secrets: list[str]  #: every personal datum seeded: none may appear on a committee page
    partner_names: list[str]


def seed_dashboard(session: Session, seed: int = 7) -> DashboardWorld:
    """Build the world and commit it (the app's requests must see it)."""
    rng = random.Random(seed)
    version, _ = load_definition(session, read_definition_file(BUILTIN / "attestation.yaml"))
    items = numeric_items(version.definition)
    institutions = {
        "TDTU": factories.make_institution(
            session, code="TDTU", name="Tashkent State Technical University"
        ),
        "SAMDU": factories.make_institution(session, code="SAMDU", name="Samarkand University"),
    }
    programmes = {}
    for inst, code, *_ in PLAN:
        if code not in programmes:
            programmes[code] = factories.make_programme(
                session, institutions[inst], code=code, name=NAMES[code]
            )
    secrets: list[str] = [FREE_TEXT]
    partner_names: list[str] = []
    counter = 0
    for inst, code, year, n, quality in PLAN:
        programme = programmes[code]
        employers: list[Employer] = []
        for i in range(n):
            counter += 1
            graduate = Graduate(
                programme=programme,
                institution_id=programme.institution_id,
                graduation_year=year,
                full_name=f"Dilnoza Secretova{counter}",
                student_number=f"SN-SECRET-{counter:05d}",
                email=f"dilnoza{counter}@student.example",
            )
            session.add(graduate)
            secrets += [graduate.full_name, graduate.student_number, graduate.email]
            if i % 2 == 0:  # each employer rates two graduates
                employer = Employer(
                    name=f"Secret Enterprise {counter} LLC", tax_number=f"{400000000 + counter}"
                )
                session.add(employer)
                link = EmployerLink(
                    institution=institutions[inst],
                    employer=employer,
                    name=employer.name,
                    contact_name=f"Rustam Kontaktov{counter}",
                    contact_email=f"hr{counter}@secret-enterprise.example",
                )
                session.add(link)
                employers.append(employer)
                secrets += [link.contact_name, link.contact_email, employer.tax_number]
                partner_names.append(employer.name)
                session.add(
                    PartnershipAgreement(
                        institution=institutions[inst],
                        employer=employer,
                        kind=rng.choice(list(AgreementKind)),
                        number=f"AG-{counter}",
                        signed_on=dt.date(year - 1, 1, 10),
                        valid_from=dt.date(year - 1, 2, 1),
                    )
                )
            employer = employers[-1]
            session.add(
                EmploymentRecord(
                    graduate=graduate,
                    employer=employer,
                    position="Engineer",
                    start_date=dt.date(year, 9, 1),
                )
            )
            if i % 3 == 0:
                session.add(
                    Internship(
                        graduate=graduate,
                        employer=employer,
                        mentor_name=f"Mentor Secretov{counter}",
                        start_date=dt.date(year - 1, 6, 1),
                    )
                )
                secrets.append(f"Mentor Secretov{counter}")
        session.flush()
        campaign = campaign_for(
            session,
            version,
            [programme],
            year=year,
            name=f"Attestation {code} {year}",
            opens_on=dt.date(year + 1, 1, 10),
            closes_on=dt.date(year + 1, 3, 10),
        )
        for invitation in create_invitations(session, campaign, secret_key=SECRET):
            session.add(_response(invitation, version, items, quality, rng))
            secrets.append(invitation.email or "")
        session.flush()
    # one password hash for every account: argon2 takes seconds on a busy machine
    staff = factories.make_user(session, "staff", institutions["TDTU"], email="staff@tdtu.example")

    def user(role: str, email: str, institution: Institution | None = None) -> User:
        account = User(
            email=email, password_hash=staff.password_hash, role=role, institution=institution
        )
        session.add(account)
        return account

    other_staff = user("staff", "staff@samdu.example", institutions["SAMDU"])
    member = user("committee", "member@committee.example")
    expert = user("committee", "expert@committee.example")
    admin = user("admin", "admin@hamkor.example")
    session.add(CommitteeAssignment(user=member, institution=institutions["TDTU"]))
    session.add(
        CommitteeAssignment(
            user=expert, institution=institutions["TDTU"], programme=programmes["MECH"]
        )
    )
    session.commit()
    return DashboardWorld(
        institutions,
        programmes,
        staff,
        other_staff,
        member,
        expert,
        admin,
        [s for s in secrets if s],
        partner_names,
    )


def _response(invitation, version, items, quality: float, rng: random.Random) -> Response:
    """A submitted response whose scores centre on ``quality`` (1–5), some items N/A."""
    response = Response(
        invitation=invitation,
        instrument_version=version,
        status=ResponseStatus.SUBMITTED,
        submitted_at=utcnow() - dt.timedelta(days=rng.randint(0, 20)),
        language="en",
    )
    lean = rng.gauss(0, 0.4)  # this employer's leniency
    for item in items:
        low, high = item["scale_min"], item["scale_max"]
        if item["type"] == "nps":
            score = round(min(10, max(0, (quality - 1) * 2.5 + lean * 2 + rng.gauss(0, 1.5))))
        elif rng.random() < 0.05:
            response.answers.append(Answer(item_key=item["key"], not_applicable=True))
            continue
        else:
            score = round(min(high, max(low, quality + lean + rng.gauss(0, 0.7))))
        response.answers.append(Answer(item_key=item["key"], number=float(score)))
    response.answers.append(Answer(item_key="strengths", text=FREE_TEXT))
    return response
