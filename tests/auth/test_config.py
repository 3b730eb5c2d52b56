"""Session cookie flags and the production secret-key rule."""

import pytest

from surveys import create_app
from surveys.config import ConfigError


def session_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("hamkor_session=")]
    assert headers, "no session cookie was set"
    return headers[0]


def test_session_cookie_is_httponly_and_samesite_lax(client, db):
    cookie = session_cookie_header(client.get("/login"))  # the CSRF token lives in the session
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain http must still work


def test_production_cookie_is_secure_too(database_url, monkeypatch, tmp_path):
    monkeypatch.delenv("HAMKOR_SECRET_KEY", raising=False)
    app = create_app(
        {
            "HAMKOR_ENV": "production",
            "SECRET_KEY": "a-production-secret-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )
    response = app.test_client().get("/login")
    cookie = session_cookie_header(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_reads_the_secret_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HAMKOR_ENV", "production")
    monkeypatch.setenv("HAMKOR_SECRET_KEY", "from-the-environment-0123456789")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-the-environment-0123456789"
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("how", ["environment", "config"])
def test_production_without_secret_key_refuses_to_start(monkeypatch, how):
    monkeypatch.delenv("HAMKOR_SECRET_KEY", raising=False)
    if how == "environment":
        monkeypatch.setenv("HAMKOR_ENV", "production")
        overrides = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}
    else:
        monkeypatch.delenv("HAMKOR_ENV", raising=False)
        overrides = {"HAMKOR_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    with pytest.raises(ConfigError, match="HAMKOR_SECRET_KEY"):
        create_app(overrides)


def test_development_without_secret_key_keeps_a_generated_one(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("HAMKOR_SECRET_KEY", raising=False)
    monkeypatch.delenv("HAMKOR_ENV", raising=False)
    from surveys.config import load_config

    first = load_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = load_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 32
    assert "HAMKOR_SECRET_KEY" in capsys.readouterr().err
