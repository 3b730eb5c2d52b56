"""Logging in and out through the real form: audit, rate limits, safe redirects."""

import json

import pytest

from tests.auth.helpers import events
from tests.conftest import TEST_PASSWORD, csrf_token_from


def test_login_lands_on_home_and_logout_ends_session(client, db, make_user, login):
    user = make_user("admin", email="Admin@Uni.example")
    db.commit()
    page = login("admin@uni.example")
    assert "admin@uni.example" in page.get_data(as_text=True).lower()
    token = csrf_token_from(page.get_data(as_text=True))
    page = client.post("/logout", data={"csrf_token": token}, follow_redirects=True)
    assert "You are logged out" in page.get_data(as_text=True), page.get_data(as_text=True)[-600:]
    assert client.get("/").headers["Location"].endswith("/login")
    db.refresh(user)
    assert user.last_login_at is not None


def test_wrong_password_is_refused_without_saying_which_part(client, db, make_user, login):
    make_user("staff", email="staff@uni.example")
    db.commit()
    page = login("staff@uni.example", password="not the password").get_data(as_text=True)
    assert "Wrong e-mail or password" in page
    page = login("nobody@uni.example").get_data(as_text=True)
    assert "Wrong e-mail or password" in page


def test_login_without_csrf_token_is_refused(client, db, make_user):
    make_user("admin", email="a@uni.example")
    db.commit()
    response = client.post("/login", data={"email": "a@uni.example", "password": "x" * 12})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(client, db, make_user, login):
    make_user("admin", email="gone@uni.example", active=False)
    db.commit()
    assert "Wrong e-mail or password" in login("gone@uni.example").get_data(as_text=True)
    assert events(db, "auth.login_failed")[0].details["reason"] == "inactive"


def test_login_and_logout_are_audited_without_the_password(client, db, make_user, login):
    user = make_user("staff", email="audited@uni.example")
    db.commit()
    login("audited@uni.example", password="guess-number-one")
    page = login("audited@uni.example")
    client.post("/logout", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})

    failed, ok, out = (
        events(db, "auth.login_failed"),
        events(db, "auth.login"),
        events(db, "auth.logout"),
    )
    assert [e.actor for e in failed] == ["audited@uni.example"]
    assert failed[0].object_id == str(user.id) and failed[0].details == {"reason": "password"}
    assert [(e.actor, e.object_type, e.object_id) for e in ok] == [
        ("audited@uni.example", "User", str(user.id))
    ]
    assert ok[0].institution_id == user.institution_id and ok[0].ip == "127.0.0.1"
    assert [(e.actor, e.user_id) for e in out] == [("audited@uni.example", user.id)]
    trail = json.dumps([e.details for e in events(db)])
    assert "guess-number-one" not in trail and TEST_PASSWORD not in trail


def test_eleventh_login_attempt_in_a_minute_is_refused_politely(client, db, make_user):
    make_user("staff", email="target@uni.example")
    db.commit()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    statuses = []
    for attempt in range(11):  # other accounts each time: the per-client limit, not the pair's
        response = client.post(
            "/login",
            data={
                "email": f"target{attempt}@uni.example",
                "password": f"guess {attempt}",
                "csrf_token": token,
            },
        )
        statuses.append(response.status_code)
    assert statuses == [200] * 10 + [429]
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and "wait a minute" in page
    assert client.get("/login").status_code == 200  # the form itself still opens


def test_failed_logins_are_also_limited_per_account(app, client, db, make_user, login):
    app.config["HAMKOR_LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per hour"
    make_user("staff", email="victim@uni.example")
    make_user("staff", email="bystander@uni.example")
    db.commit()
    for _ in range(3):
        assert "Wrong e-mail" in login("victim@uni.example", "wrong-wrong").get_data(as_text=True)
    # the fourth try on that account is refused even with the right password …
    assert login("victim@uni.example", follow_redirects=False).status_code == 429
    # … while other accounts, and successful logins, are not counted against it
    for _ in range(4):
        assert login("bystander@uni.example", follow_redirects=False).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_parameter_never_leaves_the_site(client, db, make_user, target):
    make_user("admin", email="admin@uni.example")
    db.commit()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "admin@uni.example", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"


def test_next_parameter_on_the_site_is_followed(client, db, make_user):
    make_user("admin", email="admin@uni.example")
    db.commit()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=/audit?action=auth.login",
        data={"email": "admin@uni.example", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/audit?action=auth.login"


def test_login_starts_a_fresh_session(client, db, make_user):
    """Whatever a visitor's session held before login (fixation) is not carried over."""
    make_user("admin", email="admin@uni.example")
    db.commit()
    client.get("/login?lang=ru")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        old_token = sess["csrf_token"]
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post(
        "/login",
        data={"email": "admin@uni.example", "password": TEST_PASSWORD, "csrf_token": token},
    )
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("csrf_token") != old_token
        assert sess["lang"] == "ru"  # the language choice is kept on purpose
