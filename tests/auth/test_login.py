"""Logging in and out through the real form."""

from tests.conftest import csrf_token_from


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
