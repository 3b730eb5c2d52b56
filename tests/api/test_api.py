"""The JSON API: who may read what, personal tokens, the OpenAPI document, no personal data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from surveys.admin.models import CommitteeAssignment
from surveys.api.models import ApiToken
from surveys.api.tokens import create_token
from surveys.audit.models import AuditEvent
from surveys.indicators import get_indicators
from surveys.registry.models import Employer, EmployerLink, Graduate
from tests import factories
from tests.conftest import TEST_PASSWORD, csrf_token_from
from tests.indicators.builders import build_setting
from tests.snapshots import built_once
from tests.world import logged_in_client

URL = "/api/indicators?institution={code}&year=2025"


@pytest.fixture
def world(db):
    """Two institutions with data; staff of the first; committee members of each kind."""
    return built_once(db, "api", _build_world)


def _build_world(db):
    def make_user(role, institution=None, **kw):
        return factories.make_user(db, role, institution, password=TEST_PASSWORD, **kw)

    setting = build_setting(db, code="QMII")
    other = build_setting(db, code="TDTU", seed=11)
    staff = make_user("staff", setting.institution, email="staff@qmii.example")
    admin = make_user("admin", email="admin@hamkor.example")
    whole = make_user("committee", email="whole@hamkor.example")
    db.add(CommitteeAssignment(user=whole, institution=setting.institution))
    one = make_user("committee", email="one@hamkor.example")
    db.add(
        CommitteeAssignment(
            user=one, institution=setting.institution, programme=setting.programmes["GEO"]
        )
    )
    db.commit()
    return {
        "setting": setting,
        "other": other,
        "staff": staff,
        "admin": admin,
        "whole": whole,
        "one": one,
    }


def bearer(db, user, **kw) -> dict[str, str]:
    _token, text = create_token(db, user, name=kw.get("name", "script"), lifetime_days=90)
    db.commit()
    return {"Authorization": f"Bearer {text}"}


def test_anonymous_gets_401_in_json(client, world):
    response = client.get(URL.format(code="QMII"))
    assert response.status_code == 401
    assert response.is_json and "Bearer" in response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer", "Bearer hamkor_000000000000_" + "x" * 43, "Basic dXNlcjpwYXNz"):
        refused = client.get(URL.format(code="QMII"), headers={"Authorization": header})
        assert refused.status_code == 401 and refused.is_json


def test_a_good_token_reads_what_the_pages_show(app, client, db, world):
    response = client.get(URL.format(code="qmii") + "&lang=ru", headers=bearer(db, world["whole"]))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["institution"] == {"code": "QMII", "name": "QMII Institute"}
    assert body["language"] == "ru" and body["settings"]["min_n"] == 5
    with app.app_context():
        stored = get_indicators(db, world["setting"].institution.id, years=2025)
    records = body["records"]
    assert [{k: v for k, v in r.items() if k != "labels"} for r in records] == [
        r.to_dict() for r in stored.records
    ]
    assert list(records[0])[:5] == ["institution", "programme", "year", "instrument", "indicator"]
    employed = next(
        r for r in records if r["indicator"] == "employment_rate" and r["programme"] == "OIL"
    )
    assert employed["labels"]["indicator"] == "Трудоустроенные выпускники"
    assert employed["labels"]["programme"] == "OIL — Oil and gas machines"
    assert "ДИ" in employed["labels"]["value"]
    # the token's use is recorded (shown on the tokens page)
    db.expire_all()
    assert db.scalar(select(ApiToken.last_used_at)) is not None


@pytest.mark.parametrize(
    "who,url,status",
    [
        # staff: their own institution only (another institution's code in the URL: 403)
        ("staff", URL.format(code="QMII"), 200),
        ("staff", URL.format(code="TDTU"), 403),
        # a committee member assigned the whole institution
        ("whole", URL.format(code="QMII") + "&programme=OIL", 200),
        ("whole", URL.format(code="TDTU"), 403),
        # a committee member assigned one programme: another programme or "*" is refused
        ("one", URL.format(code="QMII") + "&programme=GEO", 200),
        ("one", URL.format(code="QMII") + "&programme=OIL", 403),
        ("one", URL.format(code="QMII") + "&programme=*", 403),
        ("one", URL.format(code="TDTU") + "&programme=GEO", 403),
        # the administrator reads everything
        ("admin", URL.format(code="TDTU") + "&programme=*", 200),
        # unknown things are 404, malformed ones 400
        ("admin", URL.format(code="NOPE"), 404),
        ("admin", URL.format(code="QMII") + "&programme=NOPE", 404),
        ("admin", "/api/indicators?institution=QMII", 400),
        ("admin", "/api/indicators?year=2025", 400),
        ("admin", "/api/indicators?institution=QMII&year=20x5", 400),
        ("admin", "/api/indicators?institution=QMII&year=99999999999999999999", 400),
        ("admin", URL.format(code="QMII") + "&lang=de", 400),
    ],
)
def test_scope_of_each_role(client, db, world, who, url, status):
    response = client.get(url, headers=bearer(db, world[who]))
    assert response.status_code == status, response.json
    assert response.is_json
    if status != 200:
        assert set(response.json) == {"error", "message"} and response.json["message"]


def test_a_programme_member_reads_only_their_programme(client, db, world):
    body = client.get(URL.format(code="QMII"), headers=bearer(db, world["one"])).json
    assert body["records"] and {r["programme"] for r in body["records"]} == {"GEO"}


def test_the_session_of_a_logged_in_user_works_too(app, db, world):
    client = logged_in_client(app, world["whole"])
    assert client.get(URL.format(code="QMII")).status_code == 200
    assert client.get(URL.format(code="TDTU")).status_code == 403


def test_a_revoked_token_gets_401(client, db, world):
    headers = bearer(db, world["whole"])
    assert client.get(URL.format(code="QMII"), headers=headers).status_code == 200
    token = db.scalar(select(ApiToken))
    token.user.active = False  # a deactivated account's tokens die with it
    db.commit()
    assert client.get(URL.format(code="QMII"), headers=headers).status_code == 401
    token.user.active = True
    db.commit()
    from surveys.api.tokens import revoke_token

    revoke_token(db, token.user, token.id)
    db.commit()
    refused = client.get(URL.format(code="QMII"), headers=headers)
    assert (
        refused.status_code == 401
        and 'error="invalid_token"' in (refused.headers["WWW-Authenticate"])
    )


def test_no_personal_data_in_any_answer(client, db, world):
    headers = bearer(db, world["admin"])
    names = [g.full_name for g in db.scalars(select(Graduate))]
    names += [g.student_number for g in db.scalars(select(Graduate))]
    names += [g.pseudonym for g in db.scalars(select(Graduate))]
    for employer in db.scalars(select(Employer)):
        names += [employer.name, employer.tax_number, employer.pseudonym]
    for link in db.scalars(select(EmployerLink)):
        names += [link.name, link.contact_name, link.contact_email]
    for code in ("QMII", "TDTU"):
        for year in (2024, 2025):
            text = client.get(
                f"/api/indicators?institution={code}&year={year}", headers=headers
            ).get_data(as_text=True)
            assert json.loads(text)["records"]
            leaked = [n for n in names if n and n in text]
            assert not leaked, leaked


def test_tokens_page_creates_shows_once_and_revokes(app, db, world):
    client = logged_in_client(app, world["one"])
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "You have no API token yet." in page.get_data(True)
    created = client.post(
        "/account/tokens",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "name": "R script",
            "lifetime": "30",
        },
    )
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    text = html.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert text.startswith("hamkor_") and len(text) == len("hamkor_") + 12 + 1 + 43
    # stored hashed: the secret is nowhere in the database
    row = db.scalar(select(ApiToken))
    # the secret is everything after the key id: url-safe base64 may itself contain "_"
    secret = text[len("hamkor_") + 12 + 1 :]
    assert len(secret) == 43 and secret not in (row.secret_hash, row.key_id)
    assert row.expires_at is not None and (row.expires_at - row.created_at).days == 30
    assert (
        app.test_client()
        .get(
            URL.format(code="QMII") + "&programme=GEO", headers={"Authorization": f"Bearer {text}"}
        )
        .status_code
        == 200
    )
    # shown once: the list shows only its public start afterwards
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert text not in listed and f"hamkor_{row.key_id}_" in listed and "R script" in listed
    revoked = client.post(
        f"/account/tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token_from(listed)},
        follow_redirects=True,
    )
    assert "Token “R script” revoked." in revoked.get_data(as_text=True)
    assert (
        app.test_client()
        .get(URL.format(code="QMII"), headers={"Authorization": f"Bearer {text}"})
        .status_code
        == 401
    )
    actions = [
        e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.action.like("api.%")))
    ]
    assert actions == ["api.token_created", "api.token_revoked"]
    details = " ".join(str(e.details) for e in db.scalars(select(AuditEvent)))
    assert secret not in details


def test_nobody_revokes_another_users_token(app, db, world):
    _token, _text = create_token(db, world["whole"], name="theirs", lifetime_days=None)
    db.commit()
    client = logged_in_client(app, world["one"])
    listed = client.get("/account/tokens").get_data(as_text=True)
    token = db.scalar(select(ApiToken))
    response = client.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token_from(listed)}
    )
    assert response.status_code == 404
    db.expire_all()
    assert db.scalar(select(ApiToken.revoked_at)) is None


def test_openapi_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()  # raises on any violation
    broken = {key: value for key, value in document.items() if key != "info"}
    assert list(OpenAPIV31SpecValidator(broken).iter_errors())  # the check can fail
    operation = document["paths"]["/api/indicators"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "institution",
        "year",
        "programme",
        "lang",
    }
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404"}
