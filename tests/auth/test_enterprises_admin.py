"""The administrator's enterprise pages and ``hamkor enterprise``: the shared identity only."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from surveys.registry.models import Employer, EmployerLink
from tests import factories
from tests.auth.helpers import events, post_form
from tests.world import logged_in_client


def _world(db, make_user, make_institution):
    qmii = make_institution(code="QMII", name="Qarshi")
    tdtu = make_institution(code="TDTU", name="Toshkent")
    shurtan = factories.make_employer(
        db,
        qmii,
        name="Sho'rtan gaz kimyo majmuasi",
        tax_number="302345671",
        sector="Oil and gas",
        region="Qashqadaryo",
        contact_email="hr@shurtan.example",
    )
    factories.link_employer(
        db, tdtu, shurtan, link_name="Shurtan GCC", contact_email="practice@shurtan.example"
    )
    factories.make_employer(db, tdtu, name="Navoiyazot", tax_number="302345679")
    admin = make_user("admin", email="root@hamkor.example")
    staff = make_user("staff", tdtu, email="staff@tdtu.example")
    db.commit()
    return {"admin": admin, "staff": staff, "shurtan": shurtan, "qmii": qmii, "tdtu": tdtu}


def test_admin_lists_searches_and_sees_who_works_with_an_enterprise(
    app, db, make_user, make_institution
):
    world = _world(db, make_user, make_institution)
    client = logged_in_client(app, world["admin"])
    page = client.get("/admin/enterprises").get_data(as_text=True)
    assert "2 enterprises" in page
    rows = re.findall(r"<tr>\s*<td><a[^>]*>(\d+)</a></td>(.*?)</tr>", page, re.S)
    cells = {tax: re.findall(r"<td>(.*?)</td>", rest) for tax, rest in rows}
    assert cells["302345671"] == [
        "Sho&#39;rtan gaz kimyo majmuasi",
        "Oil and gas",
        "Qashqadaryo",
        "2",
    ]
    assert cells["302345679"][-1] == "1"
    # search by the official name (apostrophe variant), by tax number, by a name an
    # institution uses
    for query in ("shoʻrtan", "3023456", "SHURTAN GCC"):
        found = client.get(f"/admin/enterprises?q={query}").get_data(as_text=True)
        assert "302345671" in found, query
    assert "1 enterprise" in client.get("/admin/enterprises?q=navoiy").get_data(as_text=True)
    detail = client.get(f"/admin/enterprises/{world['shurtan'].id}").get_data(as_text=True)
    assert "hr@shurtan.example" in detail and "practice@shurtan.example" in detail
    assert "Shurtan GCC" in detail and "QMII" in detail and "TDTU" in detail


def test_admin_corrects_the_identity_audited_and_institutions_keep_their_records(
    app, db, make_user, make_institution
):
    world = _world(db, make_user, make_institution)
    client = logged_in_client(app, world["admin"])
    url = f"/admin/enterprises/{world['shurtan'].id}"
    response = post_form(
        client,
        url,
        {
            "tax_number": " 302 345 670 ",
            "name": "Sho'rtan Gaz-Kimyo Majmuasi MChJ",
            "sector": "Chemistry",
            "region": "",
        },
        follow_redirects=True,
    )
    assert "Changes to Sho&#39;rtan Gaz-Kimyo Majmuasi MChJ saved." in response.get_data(
        as_text=True
    )
    db.expire_all()
    employer = db.get(Employer, world["shurtan"].id)
    assert (employer.tax_number, employer.name, employer.sector, employer.region) == (
        "302345670",
        "Sho'rtan Gaz-Kimyo Majmuasi MChJ",
        "Chemistry",
        None,
    )
    (event,) = events(db, "registry.enterprise_updated")
    assert event.actor == "root@hamkor.example" and event.institution_id is None
    assert event.details["changes"] == {
        "tax_number": ["302345671", "302345670"],
        "name": ["Sho'rtan gaz kimyo majmuasi", "Sho'rtan Gaz-Kimyo Majmuasi MChJ"],
        "sector": ["Oil and gas", "Chemistry"],
        "region": ["Qashqadaryo", None],
    }
    links = {
        link.institution_id: (link.name, link.contact_email)
        for link in db.scalars(select(EmployerLink).where(EmployerLink.employer_id == employer.id))
    }
    assert links == {
        world["qmii"].id: ("Sho'rtan gaz kimyo majmuasi", "hr@shurtan.example"),
        world["tdtu"].id: ("Shurtan GCC", "practice@shurtan.example"),
    }
    # staff never see the change in their audit log, nor the official name in their list
    staff = logged_in_client(app, world["staff"])
    assert "enterprise_updated" not in staff.get("/audit").get_data(as_text=True)
    employers = staff.get("/registry/employers").get_data(as_text=True)
    assert "Shurtan GCC" in employers and "MChJ" not in employers
    assert "302345670" in employers  # the corrected tax number is the key everywhere


def test_identity_refusals_name_the_field(app, db, make_user, make_institution):
    world = _world(db, make_user, make_institution)
    client = logged_in_client(app, world["admin"])
    url = f"/admin/enterprises/{world['shurtan'].id}"
    cases = [
        ({"tax_number": "302345679", "name": "X"}, "tax_number", "Another enterprise has"),
        ({"tax_number": "12ab", "name": "X"}, "tax_number", "5 to 20 digits"),
        ({"tax_number": "302345671", "name": "  "}, "name", "This field is required"),
    ]
    for data, field, message in cases:
        response = post_form(client, url, data)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert f'id="{field}-error"' in page and message in page, (data, page[-3000:])
    db.expire_all()
    assert db.get(Employer, world["shurtan"].id).name == "Sho'rtan gaz kimyo majmuasi"
    assert events(db, "registry.enterprise_updated") == []


def test_enterprise_pages_are_for_admins_only(app, db, make_user, make_institution):
    world = _world(db, make_user, make_institution)
    staff = logged_in_client(app, world["staff"])
    assert staff.get("/admin/enterprises").status_code == 403
    assert staff.get(f"/admin/enterprises/{world['shurtan'].id}").status_code == 403
    admin = logged_in_client(app, world["admin"])
    assert admin.get("/admin/enterprises/99999999999999999999").status_code == 404
    assert admin.get("/admin/enterprises?q=%00&page=99999999999999").status_code == 200


def test_enterprise_commands(runner, db, make_user, make_institution):
    world = _world(db, make_user, make_institution)
    listed = json.loads(runner.invoke(["enterprise", "list", "--format", "json"]).stdout)
    assert [(r["tax_number"], r["institutions"]) for r in listed] == [
        ("302345679", 1),
        ("302345671", 2),
    ]
    result = runner.invoke(["enterprise", "edit", "302345671", "--region", "Qarshi"])
    assert result.exit_code == 0, result.output
    assert "Qarshi" in result.output
    refused = runner.invoke(["enterprise", "edit", "302345671", "--tax-number", "302345679"])
    assert refused.exit_code == 2 and "--tax-number: Another enterprise" in refused.output
    unknown = runner.invoke(["enterprise", "edit", "999999999", "--name", "X"])
    assert unknown.exit_code == 2 and "no enterprise has the tax number" in unknown.output
    db.expire_all()
    assert db.get(Employer, world["shurtan"].id).region == "Qarshi"
    (event,) = events(db, "registry.enterprise_updated")
    assert event.actor == "cli" and event.details["changes"] == {
        "region": ["Qashqadaryo", "Qarshi"]
    }
