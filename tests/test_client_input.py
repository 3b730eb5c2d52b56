"""What a client can put in a URL or a form never ends in a 500 on the staff and admin pages.

The values here are the ones issue 13 found: NUL bytes (PostgreSQL text cannot hold them),
numbers beyond PostgreSQL's ``integer``, a date with no next day, nameless multipart parts,
an upload where a text is expected. The fuzz test (``tests/test_fuzz.py``) looks for more.
"""

from __future__ import annotations

import importlib
import io

from flask_wtf import FlaskForm

from surveys import FEATURES
from surveys.auth.models import User
from surveys.web import Form
from tests.conftest import TEST_PASSWORD, csrf_token_from
from tests.world import logged_in_client, seed_world


def test_nul_in_the_audit_and_user_searches_is_ignored(app, db):
    world = seed_world(db)
    admin = logged_in_client(app, world.admin)
    audit = admin.get("/audit", query_string={"actor": "admin\x00@world"})
    assert audit.status_code == 200
    assert "admin@world.example" in audit.get_data(as_text=True)  # searched without the NUL
    users = admin.get("/admin/users", query_string={"q": "staff-\x00a"})
    assert users.status_code == 200
    html = users.get_data(as_text=True)
    assert "staff-a@world.example" in html and "staff-b@world.example" not in html


def test_ids_beyond_the_databases_integers_are_not_found(app, db):
    world = seed_world(db)
    admin = logged_in_client(app, world.admin)
    for url in (
        "/admin/users/99999999999999999999",
        "/admin/users/2147483648",
        "/admin/institutions/99999999999999999999",
        "/instruments/attestation/v99999999999999999999",
        "/instruments/%00/v1",
    ):
        page = admin.get(url)
        assert page.status_code == 404, url
        assert "Page not found" in page.get_data(as_text=True)


def test_audit_dates_at_the_ends_of_the_calendar(app, db):
    world = seed_world(db)
    admin = logged_in_client(app, world.admin)
    for query in (
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "9999-12-31"},
    ):
        page = admin.get("/audit", query_string=query)
        assert page.status_code == 200, query
    everything = admin.get("/audit", query_string={"date_to": "9999-12-31"})
    assert "auth.login" in everything.get_data(as_text=True)  # today's login of the admin
    later = admin.get("/audit", query_string={"date_from": "9999-12-31"})
    assert "No event matches." in later.get_data(as_text=True)


def test_nameless_multipart_parts_on_login_and_logout(app, db):
    world = seed_world(db)
    boundary = "b0undary"

    def multipart(**fields: str) -> bytes:
        parts = ["Content-Disposition: form-data\r\n\r\nno name"]
        for name, value in fields.items():
            parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}')
        return ("".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n").encode()

    kind = f"multipart/form-data; boundary={boundary}"
    client = logged_in_client(app, None)
    for url in ("/login", "/logout"):
        refused = client.post(url, data=multipart(), content_type=kind)
        assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True), url
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    logged_in = client.post(
        "/login",
        data=multipart(csrf_token=token, email=world.admin.email, password=TEST_PASSWORD),
        content_type=kind,
    )
    assert logged_in.status_code == 302
    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    logged_out = client.post("/logout", data=multipart(csrf_token=token), content_type=kind)
    assert logged_out.status_code == 302
    assert client.get("/admin/users").status_code == 302  # to the login page


def test_an_upload_where_a_text_is_expected_is_no_text(app, db):
    world = seed_world(db)
    client = logged_in_client(app, None)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    page = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": (io.BytesIO(world.admin.email.encode()), "email.txt"),
            "password": TEST_PASSWORD,
        },
    )
    assert page.status_code == 200
    assert "This field is required." in page.get_data(as_text=True)
    # and a JSON body fills no form
    json_login = client.post(
        "/login",
        json={"csrf_token": token, "email": world.admin.email, "password": [1, 2]},
    )
    assert json_login.status_code in (200, 400)
    db.expire_all()
    assert db.get(User, world.admin.id).last_login_at is None


def test_every_form_of_the_app_gives_uploads_only_to_file_fields():
    """A form built on Flask-WTF's ``FlaskForm`` directly would hand a text field an uploaded
    file (a 500 in its validators): the app's forms derive from ``surveys.web.Form``."""
    for feature in FEATURES:
        importlib.import_module(f"surveys.{feature}.views")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("surveys.")]
    direct = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in ours
        if cls is not Form and not issubclass(cls, Form)
    ]
    assert not direct, f"derive these from surveys.web.Form instead of FlaskForm: {direct}"
    assert len(ours) >= 8
