"""Who sees what: committee assignments, staff institutions, tampered URLs (403)."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import text_of

PAGES = ("/dashboard", "/dashboard/compare", "/dashboard/partnerships")


def test_programme_assignment_shows_that_programme_only(world, client_of):
    client = client_of(world.expert)
    page = text_of(client.get("/dashboard?year=2025").get_data(as_text=True))
    assert "MECH Mechanical engineering" in page
    for other in ("CHEM", "MINE", "ELEC", "OTHER", "Philology"):
        assert other not in page
    # no institution row: it would give away the unassigned programmes by subtraction
    assert "Whole institution" not in page
    compare = text_of(client.get("/dashboard/compare?year=2025").get_data(as_text=True))
    assert "MECH" in compare and "CHEM" not in compare


def test_whole_institution_assignment_shows_every_programme_and_the_total(world, client_of):
    page = text_of(client_of(world.member).get("/dashboard?year=2025").get_data(as_text=True))
    for code in ("MECH", "CHEM", "MINE", "ELEC"):
        assert code in page
    assert "Whole institution" in page
    assert "OTHER" not in page


@pytest.mark.parametrize("who", ["expert", "member"])
def test_tampered_urls_are_refused(world, client_of, who):
    client = client_of(getattr(world, who))
    other = world.programmes["OTHER"].id
    assert client.get(f"/dashboard/programmes/{other}").status_code == 403
    for url in PAGES:
        assert client.get(f"{url}?institution=SAMDU").status_code == 403, url
    if who == "expert":
        chem = world.programmes["CHEM"].id
        assert client.get(f"/dashboard/programmes/{chem}").status_code == 403
    assert client.get("/dashboard/programmes/999999").status_code == 404
    assert client.get("/dashboard?institution=NOPE").status_code == 404


def test_staff_see_their_own_institution_only(world, client_of):
    staff = client_of(world.staff)
    page = text_of(staff.get("/dashboard?year=2025").get_data(as_text=True))
    assert "MECH" in page and "CHEM" in page and "Whole institution" in page
    assert staff.get(f"/dashboard/programmes/{world.programmes['OTHER'].id}").status_code == 403
    for url in (*PAGES, "/dashboard/response-rates"):
        assert staff.get(f"{url}?institution=SAMDU").status_code == 403, url
    other = client_of(world.other_staff)
    assert other.get(f"/dashboard/programmes/{world.programmes['MECH'].id}").status_code == 403
    own = text_of(other.get("/dashboard").get_data(as_text=True))
    assert "OTHER Philology" in own and "MECH" not in own


def test_admins_choose_any_institution(world, client_of):
    admin = client_of(world.admin)
    page = text_of(admin.get("/dashboard?institution=samdu").get_data(as_text=True))
    assert "OTHER Philology" in page and "MECH" not in page


def test_committee_cannot_open_response_rates(world, client_of):
    assert client_of(world.member).get("/dashboard/response-rates").status_code == 403


def test_committee_home_groups_assignments_by_institution(world, client_of):
    html = client_of(world.member).get("/committee").get_data(as_text=True)
    assert html.count("Tashkent State Technical University") == 2  # heading and caption
    page = text_of(html)
    for code in ("MECH", "CHEM", "MINE", "ELEC"):
        assert f"{code} " in page
    # the instrument's translated title, not its key, with the years surveyed
    assert "Graduate attestation: the employer's assessment: 2025, 2024" in page
    ru = text_of(client_of(world.member).get("/committee?lang=ru").get_data(as_text=True))
    assert "Аттестация выпускника: оценка работодателя" in ru
    expert = text_of(client_of(world.expert).get("/committee").get_data(as_text=True))
    assert "MECH" in expert and "CHEM" not in expert
