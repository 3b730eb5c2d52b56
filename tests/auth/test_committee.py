"""The committee member's home: assigned programmes and aggregated counts only."""

import datetime as dt
import re
import secrets

from surveys.models import (
    Campaign,
    CommitteeAssignment,
    Instrument,
    InstrumentKind,
    InstrumentVersion,
    Invitation,
    Response,
    ResponseStatus,
)
from surveys.orm import utcnow
from tests.world import logged_in_client


def instrument_version(db, key):
    instrument = Instrument(key=key, kind=InstrumentKind.CUSTOM, name=key.title())
    version = InstrumentVersion(
        instrument=instrument, version=1, definition={}, checksum=secrets.token_hex(32)
    )
    db.add_all([instrument, version])
    return version


def add_responses(db, make_graduate, make_employer, programme, version, year, n, *, status):
    """``n`` responses about graduates of ``programme`` in cohort ``year``."""
    campaign = Campaign(
        institution_id=programme.institution_id,
        instrument_version=version,
        name=f"{version.instrument.key} {year}",
        year=year,
        opens_on=dt.date(year, 9, 1),
        closes_on=dt.date(year, 12, 1),
    )
    db.add(campaign)
    for _ in range(n):
        graduate = make_graduate(programme, graduation_year=year, full_name="Dilnoza Secretova")
        invitation = Invitation(
            campaign=campaign,
            employer=make_employer(name="Secret Enterprise LLC"),
            graduate=graduate,
            nonce=secrets.token_hex(16),
            token_hash=secrets.token_hex(32),
        )
        db.add(invitation)
        submitted = status == ResponseStatus.SUBMITTED
        db.add(
            Response(
                invitation=invitation,
                instrument_version=version,
                status=status,
                submitted_at=utcnow() if submitted else None,
            )
        )
    db.flush()


def test_home_lists_assignments_by_institution_with_surveys_and_no_counts(
    app, db, make_user, make_institution, make_programme, make_graduate, make_employer
):
    inst = make_institution(code="TDTU", name="Tashkent Technical")
    mech = make_programme(inst, code="MECH", name="Mechanical engineering")
    chem = make_programme(inst, code="CHEM", name="Chemical technology")
    other = make_programme(make_institution(code="ELSE"), code="HIDDEN", name="Not assigned")
    attestation, interview = (
        instrument_version(db, "attestation"),
        instrument_version(db, "interview"),
    )
    add_responses(
        db,
        make_graduate,
        make_employer,
        mech,
        attestation,
        2025,
        6,
        status=ResponseStatus.SUBMITTED,
    )
    add_responses(
        db, make_graduate, make_employer, mech, interview, 2025, 2, status=ResponseStatus.SUBMITTED
    )
    add_responses(
        db,
        make_graduate,
        make_employer,
        chem,
        attestation,
        2024,
        5,
        status=ResponseStatus.SUBMITTED,
    )
    add_responses(
        db,
        make_graduate,
        make_employer,
        other,
        attestation,
        2025,
        7,
        status=ResponseStatus.SUBMITTED,
    )
    member = make_user("committee", email="member@committee.uz")
    db.add(CommitteeAssignment(user=member, institution=inst))
    db.commit()

    page = logged_in_client(app, member).get("/committee").get_data(as_text=True)
    assert "Programmes under review" in page
    # the institution's name once as a heading (and in the table's caption), not per line
    assert page.count("Tashkent Technical") == 2
    assert "MECH Mechanical engineering" in page and "CHEM Chemical technology" in page
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    # each programme with the instruments surveyed (title, or key without one) and years
    assert any("MECH" in r and "attestation: 2025" in r and "interview: 2025" in r for r in rows)
    assert any("CHEM" in r and "attestation: 2024" in r for r in rows), rows
    # links into the indicator pages; no counts, nothing that identifies anyone
    assert f'href="/dashboard/programmes/{mech.id}"' in page
    assert 'href="/dashboard?institution=TDTU"' in page
    # (the logout form's CSRF token is random text: "S0" may well be in it)
    shown = re.sub(r'name="csrf_token" value="[^"]*"', "", page)
    for leak in ("Secretova", "Secret Enterprise", "S0", "HIDDEN", "ELSE", "@enterprise.example"):
        assert leak not in shown


def test_programme_assignment_limits_to_that_programme(
    app, db, make_user, make_institution, make_programme, make_graduate, make_employer
):
    inst = make_institution(code="TDTU")
    mech = make_programme(inst, code="MECH")
    chem = make_programme(inst, code="CHEM")
    version = instrument_version(db, "attestation")
    add_responses(
        db, make_graduate, make_employer, mech, version, 2025, 5, status=ResponseStatus.SUBMITTED
    )
    add_responses(
        db, make_graduate, make_employer, chem, version, 2025, 5, status=ResponseStatus.SUBMITTED
    )
    member = make_user("committee")
    db.add(CommitteeAssignment(user=member, institution=inst, programme=chem))
    db.commit()
    page = logged_in_client(app, member).get("/committee").get_data(as_text=True)
    assert "CHEM" in page and "MECH" not in page


def test_member_without_assignment_is_told_what_to_do(app, db, make_user):
    member = make_user("committee")
    db.commit()
    page = logged_in_client(app, member).get("/committee").get_data(as_text=True)
    assert "No institution or programme is assigned to you yet" in page


def test_committee_member_lands_on_committee_home_and_cannot_open_staff_pages(app, db, make_user):
    member = make_user("committee")
    db.commit()
    client = logged_in_client(app, member)
    assert client.get("/").headers["Location"] == "/committee"
    for url in ("/audit", "/admin/users", "/admin/institutions", "/admin/users/new"):
        assert client.get(url).status_code == 403, url
    page = client.get("/committee").get_data(as_text=True)
    assert "Audit log" not in page and "Users" not in page  # no menu links to refused pages
