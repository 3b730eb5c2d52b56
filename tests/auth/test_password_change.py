"""Changing one's own password."""

from sqlalchemy import select

from surveys.auth.models import User
from surveys.auth.passwords import verify_password
from tests.auth.helpers import events, post_form
from tests.conftest import TEST_PASSWORD, csrf_token_from
from tests.world import logged_in_client

URL = "/account/password"


def test_change_password_keeps_this_session_and_ends_the_others(app, db, make_user):
    user = make_user("committee", email="member@committee.uz")
    db.commit()
    laptop, phone = logged_in_client(app, user), logged_in_client(app, user)
    response = post_form(
        laptop,
        URL,
        {
            "current_password": TEST_PASSWORD,
            "new_password": "a much newer one",
            "confirm": "a much newer one",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Your password is changed" in page
    assert laptop.get(URL).status_code == 200  # still logged in here
    assert phone.get(URL).headers["Location"].startswith("/login")  # logged out there
    db.refresh(user)
    assert verify_password(user.password_hash, "a much newer one")
    (event,) = events(db, "auth.password_changed")
    assert (event.actor, event.object_id) == ("member@committee.uz", str(user.id))
    assert "a much newer one" not in str(event.details)


def test_change_password_refusals(app, db, make_user):
    user = make_user("staff", email="staff@uni.uz")
    db.commit()
    client = logged_in_client(app, user)
    cases = [
        (
            {"current_password": "wrong-current", "new_password": "n" * 12, "confirm": "n" * 12},
            "current_password",
            "The current password is not correct",
        ),
        (
            {"current_password": TEST_PASSWORD, "new_password": "short", "confirm": "short"},
            "new_password",
            "at least 10",
        ),
        (
            {"current_password": TEST_PASSWORD, "new_password": "n" * 12, "confirm": "m" * 12},
            "confirm",
            "The two new passwords are not the same",
        ),
        (
            {
                "current_password": TEST_PASSWORD,
                "new_password": TEST_PASSWORD,
                "confirm": TEST_PASSWORD,
            },
            "new_password",
            "must differ",
        ),
    ]
    for data, field, message in cases:
        page = post_form(client, URL, data).get_data(as_text=True)
        assert f'id="{field}-error"' in page and message in page, (field, message)
        assert 'aria-invalid="true"' in page
        assert data["new_password"] not in page.replace(TEST_PASSWORD, "")  # never echoed back
    db.refresh(user)
    assert verify_password(user.password_hash, TEST_PASSWORD)
    assert events(db, "auth.password_changed") == []


def test_every_role_can_open_the_page_and_anonymous_cannot(app, db, make_user):
    for role in ("admin", "staff", "committee"):
        user = make_user(role)
        db.commit()
        page = logged_in_client(app, user).get(URL).get_data(as_text=True)
        assert "Change my password" in page and 'autocomplete="new-password"' in page
    assert app.test_client().get(URL).headers["Location"].startswith("/login")


def test_a_password_given_by_someone_else_must_be_replaced_first(app, db, make_user):
    make_user("staff", email="new@uni.uz", must_change_password=True)
    db.commit()
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=/audit",
        data={"email": "new@uni.uz", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/account/password?next=/audit"
    # every protected page leads back to the form, with a message saying why
    page = client.get("/admin/users", follow_redirects=True).get_data(as_text=True)
    assert "Please choose your own password before you continue" in page
    assert client.get("/audit").headers["Location"].startswith("/account/password")
    # logging out still works
    assert client.post("/logout", data={"csrf_token": csrf_token_from(page)}).status_code == 302


def test_cli_generated_password_must_be_replaced_but_a_typed_one_not(runner, app, db):
    result = runner.invoke(["user", "add", "gen@uni.uz", "--role", "admin"])
    typed = runner.invoke(
        ["user", "add", "own@uni.uz", "--role", "admin", "--password-stdin"],
        input="my own long password\n",
    )
    assert result.exit_code == typed.exit_code == 0
    users = {u.email: u for u in db.scalars(select(User))}
    assert users["gen@uni.uz"].must_change_password
    assert not users["own@uni.uz"].must_change_password
