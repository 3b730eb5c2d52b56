"""The administrator's institution pages."""

from sqlalchemy import select

from surveys.registry.models import Institution
from tests.auth.helpers import events, post_form
from tests.world import logged_in_client


def admin_client(app, db, make_user):
    admin = make_user("admin", email="root@hamkor.example")
    db.commit()
    return admin, logged_in_client(app, admin)


def test_create_institution_with_privacy_notice(app, db, make_user):
    admin, client = admin_client(app, db, make_user)
    page = client.get("/admin/institutions").get_data(as_text=True)
    assert "No institution yet" in page
    response = post_form(
        client,
        "/admin/institutions/new",
        {
            "code": " tdtu ",
            "name": "Tashkent State Technical University",
            "privacy_notice": "TDTU's quality office processes your answers for accreditation.",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Institution TDTU created" in page
    assert "Tashkent State Technical University" in page
    institution = db.scalars(select(Institution)).one()
    assert institution.code == "TDTU"
    assert institution.privacy_notice.startswith("TDTU's quality office")
    (event,) = events(db, "auth.institution_created")
    assert (event.actor, event.object_type, event.object_id, event.institution_id) == (
        admin.email,
        "Institution",
        str(institution.id),
        institution.id,
    )


def test_institution_refusals_name_the_field(app, db, make_user, make_institution):
    _admin, client = admin_client(app, db, make_user)
    make_institution(code="TDTU")
    db.commit()
    cases = [
        ({"code": "tdtu", "name": "Again"}, "code", "An institution with the code TDTU exists"),
        ({"code": "BAD CODE!", "name": "X"}, "code", "letters, digits"),
        ({"code": "NEW", "name": ""}, "name", "This field is required"),
        ({"code": "", "name": "Nameless"}, "code", "This field is required"),
    ]
    for data, field, message in cases:
        page = post_form(client, "/admin/institutions/new", data).get_data(as_text=True)
        assert f'id="{field}-error"' in page and message in page, (data, message)
        assert 'aria-invalid="true"' in page
    assert db.scalar(select(Institution.code).where(Institution.code != "TDTU")) is None
    assert events(db, "auth.institution_created") == []


def test_edit_institution(app, db, make_user, make_institution):
    _admin, client = admin_client(app, db, make_user)
    institution = make_institution(code="OLD", name="Old name", privacy_notice=None)
    other = make_institution(code="TAKEN")
    db.commit()
    url = f"/admin/institutions/{institution.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="OLD"' in page and "Old name" in page
    page = post_form(client, url, {"code": "taken", "name": "X"}).get_data(as_text=True)
    assert "An institution with the code TAKEN exists" in page
    response = post_form(
        client,
        url,
        {"code": "NEW", "name": "New name", "privacy_notice": "We keep answers five years."},
        follow_redirects=True,
    )
    assert "Changes to NEW saved" in response.get_data(as_text=True)
    db.refresh(institution)
    assert (institution.code, institution.name, institution.privacy_notice) == (
        "NEW",
        "New name",
        "We keep answers five years.",
    )
    (event,) = events(db, "auth.institution_updated")
    assert event.details["changes"] == {
        "code": ["OLD", "NEW"],
        "name": ["Old name", "New name"],
        "privacy_notice": [None, "We keep answers five years."],
    }
    assert event.institution_id == institution.id
    assert other.code == "TAKEN"
    post_form(
        client,
        url,
        {"code": "NEW", "name": "New name", "privacy_notice": "We keep answers five years."},
    )
    assert len(events(db, "auth.institution_updated")) == 1  # no change, no event
    assert client.get("/admin/institutions/99999").status_code == 404


def test_institution_list_counts_programmes_and_staff(
    app, db, make_user, make_institution, make_programme
):
    _admin, client = admin_client(app, db, make_user)
    institution = make_institution(code="CNT", privacy_notice=None)
    make_programme(institution)
    make_programme(institution)
    make_user("staff", institution)
    db.commit()
    page = client.get("/admin/institutions").get_data(as_text=True)
    row = page[page.index(">CNT<") :].split("</tr>")[0]
    assert "<td>2</td>" in row and "<td>1</td>" in row and "missing" in row


def test_names_and_privacy_notice_per_language(app, db, make_user, make_institution):
    _admin, client = admin_client(app, db, make_user)
    institution = make_institution(code="TDTU", name="Tashkent State Technical University")
    db.commit()
    url = f"/admin/institutions/{institution.id}"
    form = client.get(url).get_data(as_text=True)
    assert 'name="name_ru"' in form and 'name="privacy_notice_uz"' in form
    post_form(
        client,
        url,
        {
            "code": "TDTU",
            "name": "Tashkent State Technical University",
            "privacy_notice": "Answers are used for accreditation.",
            "name_uz": " Toshkent davlat texnika universiteti ",
            "name_ru": "Ташкентский государственный технический университет",
            "name_en": "",
            "privacy_notice_ru": "Ответы используются для аккредитации.",
        },
        follow_redirects=True,
    )
    db.expire_all()
    institution = db.get(Institution, institution.id)
    assert institution.names == {
        "uz": "Toshkent davlat texnika universiteti",
        "ru": "Ташкентский государственный технический университет",
    }
    assert institution.privacy_notices == {"ru": "Ответы используются для аккредитации."}
    (event,) = [
        e for e in events(db, "auth.institution_updated") if "names" in e.details["changes"]
    ]
    assert event.details["changes"]["names"][0] == {}
    # pages in Russian show the Russian name; pages in English the default
    assert "Ташкентский государственный" in client.get("/admin/institutions?lang=ru").get_data(
        as_text=True
    )
    english = client.get("/admin/institutions?lang=en").get_data(as_text=True)
    assert "Tashkent State Technical University" in english
    # and the edit form shows what was saved
    assert "Toshkent davlat texnika universiteti" in client.get(url).get_data(as_text=True)
