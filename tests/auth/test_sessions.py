"""Sessions carry a random per-user epoch: it ends them all when it should, and only then."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from surveys import create_app
from surveys.auth.models import User
from surveys.extensions import db as _db
from surveys.migrate import upgrade_database
from surveys.orm import UTCDateTime
from tests.auth.helpers import post_form
from tests.conftest import TEST_PASSWORD, _postgres_url
from tests.world import logged_in_client


def logged_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def test_each_user_has_a_random_epoch_unrelated_to_the_password(app, db, make_user):
    users = [make_user("committee", email=f"m{n}@committee.uz") for n in range(3)]
    db.commit()
    epochs = [user.session_epoch for user in users]
    assert len(set(epochs)) == 3 and all(len(e) == 32 for e in epochs)
    assert not any(epoch in user.password_hash for epoch, user in zip(epochs, users, strict=True))


def test_a_new_hash_at_login_keeps_the_other_sessions(app, db, make_user):
    """Logging in on a second device may upgrade an old Argon2 hash: that is no password
    change, and the first device stays logged in (it was logged out when sessions were tied
    to the hash)."""
    user = make_user("committee", email="member@committee.uz")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(TEST_PASSWORD)
    db.commit()
    old_hash = user.password_hash
    laptop = logged_in_client(app, user)
    phone = logged_in_client(app, user)  # this login upgrades the hash
    db.refresh(user)
    assert user.password_hash != old_hash
    assert logged_in(laptop) and logged_in(phone)


def test_own_password_change_ends_the_other_sessions_for_good(app, db, make_user):
    user = make_user("staff", email="staff@uni.uz")
    db.commit()
    laptop, phone = logged_in_client(app, user), logged_in_client(app, user)
    stolen_cookie = phone.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    post_form(
        laptop,
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": "n" * 12, "confirm": "n" * 12},
    )
    assert logged_in(laptop) and not logged_in(phone)
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen_cookie)
    assert not logged_in(thief)


def test_an_administrators_reset_and_a_deactivation_end_every_session(app, db, make_user):
    admin = make_user("admin", email="admin@uni.uz")
    staff = make_user("staff", email="staff@uni.uz")
    db.commit()
    admin_client = logged_in_client(app, admin)
    session_before_reset = logged_in_client(app, staff)
    post_form(
        admin_client,
        f"/admin/users/{staff.id}/password",
        {"password": "brand new secret"},
        form_url=f"/admin/users/{staff.id}",
    )
    assert not logged_in(session_before_reset)

    session_before_deactivation = logged_in_client(app, staff, "brand new secret")
    cookie = session_before_deactivation.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    for active in ("0", "1"):
        post_form(
            admin_client,
            f"/admin/users/{staff.id}/active",
            {"active": active},
            form_url=f"/admin/users/{staff.id}",
        )
    # reactivated, but the session from before the deactivation does not come back
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert not logged_in(replay)
    assert logged_in(logged_in_client(app, staff, "brand new secret"))


def test_an_administrator_setting_a_password_of_spaces_is_told_why(app, db, make_user):
    admin = make_user("admin", email="admin@uni.uz")
    staff = make_user("staff", email="staff@uni.uz")
    db.commit()
    admin_client = logged_in_client(app, admin)
    staff_client = logged_in_client(app, staff)
    for spaces in (" ", " " * 12):
        page = post_form(
            admin_client,
            f"/admin/users/{staff.id}/password",
            {"password": spaces},
            form_url=f"/admin/users/{staff.id}",
            follow_redirects=True,
        )
        assert page.status_code == 200
        assert "A password cannot consist of spaces only." in page.get_data(as_text=True)
    assert logged_in(staff_client)  # nothing changed
    assert logged_in(logged_in_client(app, staff, TEST_PASSWORD))


# --- the migration ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path) -> Iterator[str]:
    """An empty database of one backend (a schema of its own on PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    base = _postgres_url()
    if base is None:
        pytest.skip("PostgreSQL does not answer (set HAMKOR_TEST_DATABASE_URL)")
    schema = f"epoch_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _migrate(url: str, revision: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "migrate", "TESTING": True})
    with app.app_context():
        upgrade_database(app, revision)
        _db.engine.dispose()


def test_the_migration_gives_every_existing_user_a_random_epoch(scratch_url):
    _migrate(scratch_url, "0001")
    users = sa.table(
        "users",
        sa.column("id"),
        sa.column("email"),
        sa.column("password_hash"),
        sa.column("role"),
        sa.column("active"),
        sa.column("must_change_password"),
        sa.column("created_at", UTCDateTime()),
    )
    engine = sa.create_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {
                    "id": n,
                    "email": f"user{n}@uni.uz",
                    "password_hash": f"$argon2id$v=19$m=65536,t=3,p=4$salt{n}$hash{n}",
                    "role": "admin",
                    "active": True,
                    "must_change_password": False,
                    "created_at": dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC),
                }
                for n in (1, 2, 3)
            ],
        )
    _migrate(scratch_url, "head")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT email, password_hash, session_epoch FROM users")).all()
    engine.dispose()
    assert [row.email for row in sorted(rows)] == ["user1@uni.uz", "user2@uni.uz", "user3@uni.uz"]
    epochs = {row.session_epoch for row in rows}
    assert len(epochs) == 3 and all(len(epoch) == 32 for epoch in epochs)
    assert all(row.password_hash.startswith("$argon2id$") for row in rows)  # untouched
    assert User.__table__.c.session_epoch.nullable is False
