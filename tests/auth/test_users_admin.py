"""The administrator's user pages: list, create, edit, deactivate, reset password."""

import re

from sqlalchemy import select

from surveys.admin.models import CommitteeAssignment
from surveys.admin.services import committee_assignments
from surveys.auth.models import Role, User
from tests.auth.helpers import events, post_form
from tests.conftest import TEST_PASSWORD, csrf_token_from
from tests.world import logged_in_client


def admin_client(app, make_user, db, **kw):
    admin = make_user("admin", email="root@hamkor.example", **kw)
    db.commit()
    return admin, logged_in_client(app, admin)


def first_login(app, user, password: str, page: str):
    """Log in with a password an admin gave; the user must choose their own before ``page``."""
    client = logged_in_client(app, user, password)
    response = client.get(page)
    assert response.headers["Location"] == f"/account/password?next={page}"
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your password was set by an administrator" in form
    response = client.post(
        response.headers["Location"],
        data={
            "current_password": password,
            "new_password": "my very own password",
            "confirm": "my very own password",
            "csrf_token": csrf_token_from(form),
        },
    )
    assert response.headers["Location"] == page
    assert client.get(page).status_code == 200
    return client


def shown_password(html: str) -> str:
    match = re.search(r'id="one-time-password" value="([^"]+)"', html)
    assert match, "the one-time password is not on the page"
    return match.group(1)


def test_create_staff_user_with_generated_password_shown_once(app, db, make_user, make_institution):
    admin, client = admin_client(app, make_user, db)
    institution = make_institution(code="TDTU")
    db.commit()
    response = post_form(
        client,
        "/admin/users/new",
        {"email": " New.Staff@TDTU.uz ", "role": "staff", "institution": str(institution.id)},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "User new.staff@tdtu.uz created" in page
    password = shown_password(page)
    assert len(password) >= 10

    user = db.scalars(select(User).where(User.email == "new.staff@tdtu.uz")).one()
    assert (user.role, user.institution_id, user.active) == (Role.STAFF, institution.id, True)
    # the password works, and it was never written to the audit trail
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "must choose a password" in listing
    first_login(app, user, password, "/audit")
    assert "must choose a password" not in client.get("/admin/users").get_data(as_text=True)
    (created,) = events(db, "auth.user_created")
    assert (created.actor, created.user_id, created.object_id) == (
        admin.email,
        admin.id,
        str(user.id),
    )
    assert created.institution_id == institution.id
    assert created.details["password"] == "generated" and password not in str(created.details)
    # the user list shows the account, but never the password again
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "new.staff@tdtu.uz" in listing and password not in listing


def test_create_committee_member_with_assignments_and_chosen_password(
    app, db, make_user, make_institution, make_programme
):
    _admin, client = admin_client(app, make_user, db)
    a, b = make_institution(code="A1"), make_institution(code="B1")
    programme = make_programme(b, code="MECH")
    db.commit()
    response = post_form(
        client,
        "/admin/users/new",
        {
            "email": "member@committee.uz",
            "role": "committee",
            "institution": str(a.id),  # ignored: committee members belong to no institution
            "assignments": [f"i:{a.id}", f"p:{programme.id}"],
            "password": "a chosen password",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "User member@committee.uz created" in page and "one-time-password" not in page
    user = db.scalars(select(User).where(User.email == "member@committee.uz")).one()
    assert user.institution_id is None
    assert sorted(
        (c.institution_id, c.programme_id) for c in committee_assignments(db, user.id)
    ) == [
        (a.id, None),
        (b.id, programme.id),
    ]
    assert "A1" in page and "B1 / MECH" in page  # shown in the user list
    first_login(app, user, "a chosen password", "/committee")


def test_create_user_refusals_are_shown_beside_the_field(app, db, make_user, make_institution):
    _admin, client = admin_client(app, make_user, db)
    make_user("staff", email="taken@uni.uz")
    db.commit()
    before = db.scalar(select(User.id).order_by(User.id.desc()))
    cases = [
        ({"email": "taken@uni.uz", "role": "admin"}, "email", "exists"),
        ({"email": "TAKEN@uni.uz", "role": "admin"}, "email", "exists"),
        ({"email": "not-an-email", "role": "admin"}, "email", "Enter an e-mail address such as"),
        ({"email": "s@uni.uz", "role": "staff"}, "institution", "needs an institution"),
        ({"email": "s@uni.uz", "role": "admin", "password": "short"}, "password", "at least 10"),
        ({"email": "s@uni.uz", "role": "wizard"}, "role", "Not a valid choice"),
    ]
    for data, field, message in cases:
        response = post_form(client, "/admin/users/new", data)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, data
        error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
        assert error and message in error.group(1), (data, page[-2000:])
        assert f'aria-describedby="{field}-hint {field}-error"' in page or (
            f'aria-describedby="{field}-error"' in page
        )
        assert 'aria-invalid="true"' in page
    db.expire_all()
    assert db.scalar(select(User.id).order_by(User.id.desc())) == before
    assert events(db, "auth.user_created") == []


def test_edit_role_institution_and_assignments(app, db, make_user, make_institution):
    _admin, client = admin_client(app, make_user, db)
    a, b = make_institution(code="AAA"), make_institution(code="BBB")
    user = make_user("staff", a, email="mover@uni.uz")
    db.commit()
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "mover@uni.uz" in page and f'<option selected value="{a.id}">' in page.replace(
        f'value="{a.id}" selected', f'selected value="{a.id}"'
    )
    response = post_form(
        client, f"/admin/users/{user.id}", {"role": "staff", "institution": str(b.id)}
    )
    assert response.headers["Location"] == "/admin/users"
    db.refresh(user)
    assert user.institution_id == b.id
    response = post_form(
        client,
        f"/admin/users/{user.id}",
        {"role": "committee", "institution": str(b.id), "assignments": [f"i:{a.id}"]},
    )
    db.refresh(user)
    assert (user.role, user.institution_id) == (Role.COMMITTEE, None)
    assert [(c.institution_id, c.programme_id) for c in committee_assignments(db, user.id)] == [
        (a.id, None)
    ]
    first, second = events(db, "auth.user_updated")
    assert first.details["changes"]["institution_id"] == [a.id, b.id]
    assert second.details["changes"]["role"] == ["staff", "committee"]
    # back to admin: the assignments go away with the committee role
    post_form(client, f"/admin/users/{user.id}", {"role": "admin", "assignments": [f"i:{a.id}"]})
    assert db.scalars(select(CommitteeAssignment)).all() == []


def test_admin_cannot_demote_or_deactivate_themself(app, db, make_user):
    admin, client = admin_client(app, make_user, db)
    response = post_form(client, f"/admin/users/{admin.id}", {"role": "staff"})
    assert "You cannot remove your own administrator role" in response.get_data(as_text=True)
    response = post_form(
        client,
        f"/admin/users/{admin.id}/active",
        {"active": "0"},
        form_url=f"/admin/users/{admin.id}",
        follow_redirects=True,
    )
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    db.refresh(admin)
    assert admin.role == Role.ADMIN and admin.active
    assert events(db, "auth.user_updated") == events(db, "auth.user_deactivated") == []


def test_deactivation_logs_the_user_out_and_reactivation_lets_them_back(app, db, make_user):
    _admin, client = admin_client(app, make_user, db)
    staff = make_user("staff", email="leaver@uni.uz")
    db.commit()
    staff_client = logged_in_client(app, staff)
    assert staff_client.get("/audit").status_code == 200
    page = post_form(
        client,
        f"/admin/users/{staff.id}/active",
        {"active": "0"},
        form_url=f"/admin/users/{staff.id}",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "leaver@uni.uz is deactivated and logged out everywhere" in page
    assert "Deactivated: this account cannot log in." in page
    assert staff_client.get("/audit").headers["Location"].startswith("/login")
    post_form(
        client,
        f"/admin/users/{staff.id}/active",
        {"active": "1"},
        form_url=f"/admin/users/{staff.id}",
    )
    db.refresh(staff)
    assert staff.active
    assert logged_in_client(app, staff).get("/audit").status_code == 200
    assert [
        e.action for e in events(db) if e.object_id == str(staff.id) and "activ" in e.action
    ] == [
        "auth.user_deactivated",
        "auth.user_reactivated",
    ]


def test_reset_password_generates_one_and_ends_the_users_sessions(app, db, make_user):
    _admin, client = admin_client(app, make_user, db)
    staff = make_user("staff", email="forgetful@uni.uz")
    db.commit()
    staff_client = logged_in_client(app, staff)
    response = post_form(
        client, f"/admin/users/{staff.id}/password", {}, form_url=f"/admin/users/{staff.id}"
    )
    assert response.headers["Cache-Control"] == "no-store"
    password = shown_password(response.get_data(as_text=True))
    assert staff_client.get("/audit").headers["Location"].startswith("/login")
    first_login(app, staff, password, "/audit")
    (event,) = events(db, "auth.password_reset")
    assert event.object_id == str(staff.id) and password not in str(event.details)


def test_reset_password_to_a_chosen_one_and_refuse_a_short_one(app, db, make_user):
    _admin, client = admin_client(app, make_user, db)
    staff = make_user("staff", email="forgetful@uni.uz")
    db.commit()
    url, form_url = f"/admin/users/{staff.id}/password", f"/admin/users/{staff.id}"
    page = post_form(
        client, url, {"password": "short"}, form_url=form_url, follow_redirects=True
    ).get_data(as_text=True)
    assert "at least 10 characters" in page
    assert logged_in_client(app, staff).get("/audit").status_code == 200  # unchanged
    page = post_form(
        client, url, {"password": "brand new secret"}, form_url=form_url, follow_redirects=True
    ).get_data(as_text=True)
    assert "The password of forgetful@uni.uz is changed" in page
    first_login(app, staff, "brand new secret", "/audit")


def test_user_list_search_filter_and_paging(app, db, make_user, make_institution):
    _admin, client = admin_client(app, make_user, db)
    institution = make_institution()
    for n in range(30):
        make_user("staff", institution, email=f"staff{n:02d}@uni.uz")
    make_user("committee", email="reader@committee.uz")
    db.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert "32 users" in page and "Page 1 of 2" in page and "staff00@uni.uz" in page
    assert "staff29@uni.uz" not in page
    page2 = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "staff29@uni.uz" in page2 and "Previous" in page2
    found = client.get("/admin/users?q=STAFF1").get_data(as_text=True)
    assert "10 users" in found and "staff15@uni.uz" in found and "staff20@uni.uz" not in found
    committee = client.get("/admin/users?role=committee").get_data(as_text=True)
    assert "1 user" in committee and "reader@committee.uz" in committee
    # "_" and "%" are searched literally, not as SQL wildcards
    assert "0 users" in client.get("/admin/users?q=_").get_data(as_text=True)
    assert client.get("/admin/users/99999").status_code == 404


def test_user_list_links_to_an_edit_page_with_every_action(app, db, make_user):
    """The user list links each user to the edit page; the edit page has all actions."""
    _admin, client = admin_client(app, make_user, db)
    staff = make_user("staff", email="x@uni.uz")
    db.commit()
    listing = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{staff.id}"' in listing
    page = client.get(f"/admin/users/{staff.id}").get_data(as_text=True)
    for action in ("Save changes", "Set new password", "Deactivate"):
        assert action in page
    assert csrf_token_from(page)
    assert TEST_PASSWORD not in page
