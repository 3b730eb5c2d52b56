"""No browser or proxy keeps a copy of a page a logged-in user saw (``Cache-Control: no-store``).

Walks every GET endpoint of the URL map as each role, so pages added later are covered: each
answer to a logged-in user (page, redirect, refusal) says ``no-store``; static files keep
their normal caching.
"""

from __future__ import annotations

import re

from tests.test_access_matrix import build_url, protected_rules
from tests.world import logged_in_client, seed_world


def test_every_answer_to_a_logged_in_user_is_no_store(app, db):
    world = seed_world(db)
    clients = {
        "admin": logged_in_client(app, world.admin),
        "staff": logged_in_client(app, world.staff),
        "committee": logged_in_client(app, world.committee),
    }
    urls = [build_url(rule, world.params) for rule in protected_rules(app) if "GET" in rule.methods]
    urls += ["/", "/login", "/nowhere"]
    problems, checked = [], 0
    for who, client in clients.items():
        for url in urls:
            response = client.get(url)
            checked += 1
            if response.headers.get("Cache-Control") != "no-store":
                problems.append(
                    f"{who} GET {url}: {response.status_code}, "
                    f"Cache-Control {response.headers.get('Cache-Control')!r}"
                )
            response.close()
    assert not problems, "\n".join(problems)
    assert checked >= 3 * 20


def test_static_files_stay_cacheable_and_anonymous_pages_are_not_forced(app, db):
    world = seed_world(db)
    staff = logged_in_client(app, world.staff)
    css = staff.get("/static/hamkor.css")
    assert css.status_code == 200 and css.headers.get("Cache-Control") != "no-store"
    css.close()
    icon = staff.get("/favicon.ico")
    assert icon.headers.get("Cache-Control") != "no-store"
    icon.close()
    assert logged_in_client(app, None).get("/login").headers.get("Cache-Control") is None


def test_static_files_are_addressed_by_their_content_and_kept_for_a_year(app, db, tmp_path):
    """The page links each static file with ``?v=`` (its content's hash); that URL is cached
    for a year, a bare or stale one is revalidated as before, and a changed file gets a new
    URL (a browser never keeps an old stylesheet against a new page)."""
    world = seed_world(db)
    for user, address in ((None, "/login"), (world.staff, "/")):
        client = logged_in_client(app, user)
        page = client.get(address, follow_redirects=True).get_data(as_text=True)
        linked = re.findall(r'(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]{16})"', page)
        assert {"/static/hamkor.css", "/static/hamkor.js"} <= {path for path, _ in linked}
        for path, version in linked:
            with client.get(f"{path}?v={version}") as kept:
                assert kept.status_code == 200
                assert kept.headers["Cache-Control"] == "public, max-age=31536000", path
            for other in (path, f"{path}?v=0123456789abcdef"):
                with client.get(other) as revalidated:
                    assert revalidated.headers["Cache-Control"] == "no-cache", other

    static = tmp_path / "static"
    static.mkdir()
    (static / "site.css").write_text("body { color: black }")
    app.static_folder = str(static)
    with app.test_request_context():
        from flask import url_for

        first = url_for("static", filename="site.css")
        (static / "site.css").write_text("body { color: darkblue }")
        assert url_for("static", filename="site.css") != first
        assert url_for("static", filename="missing.css") == "/static/missing.css"
    # the folder itself and a missing file are a 404 with or without a version, never a 500
    client = app.test_client()
    for address in ("/static/.?v=0", "/static/?v=0", "/static/missing.css?v=0"):
        with client.get(address) as response:
            assert response.status_code == 404, address
