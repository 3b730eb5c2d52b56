"""Every form that changes something needs the CSRF token of the user's session.

Walks every endpoint that accepts POST (including ones added later by other features): a
logged-in administrator posting without the token gets 400 and the database is unchanged.
"""

from __future__ import annotations

from sqlalchemy import func, select

from surveys.orm import Base
from tests.test_access_matrix import build_url
from tests.world import logged_in_client, seed_world

#: Endpoints that take POST without a CSRF token, and why (none so far; a JSON API
#: authenticated by a bearer token would be the kind of thing listed here).
CSRF_EXEMPT: dict[str, str] = {}


def row_counts(db) -> dict[str, int]:
    """Rows in every table (the audit trail included), to show that nothing was written."""
    db.expire_all()
    return {
        t.name: db.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.tables.values()
    }


def test_every_post_without_csrf_token_is_refused_and_changes_nothing(app, db):
    world = seed_world(db)
    client = logged_in_client(app, world.admin)
    before = row_counts(db)
    posted = []
    problems = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or rule.endpoint in CSRF_EXEMPT:
            continue
        url = build_url(rule, world.params)
        response = client.post(
            url,
            data={
                "email": "x@y.example",
                "password": "p" * 12,
                "code": "NEW",
                "name": "New",
                "active": "0",
            },
        )
        posted.append(rule.endpoint)
        if response.status_code != 400:
            problems.append(f"POST {url} ({rule.endpoint}) without token: {response.status_code}")
        elif "CSRF" not in response.get_data(as_text=True):
            problems.append(f"POST {url} ({rule.endpoint}): 400 page does not mention CSRF")
    assert not problems, "\n".join(problems)
    assert row_counts(db) == before
    assert {"auth.login", "auth.logout", "admin.user_new", "admin.institution_edit"} <= set(posted)
    # the refused logout did not log the admin out
    assert client.get("/admin/users").status_code == 200


def test_wrong_csrf_token_is_refused(app, db):
    world = seed_world(db)
    client = logged_in_client(app, world.admin)
    response = client.post(
        "/admin/institutions/new",
        data={"code": "EVIL", "name": "Evil", "csrf_token": "not-the-token"},
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
