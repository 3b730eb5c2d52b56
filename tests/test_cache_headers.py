"""No browser or proxy keeps a copy of a page a logged-in user saw (``Cache-Control: no-store``).

Walks every GET endpoint of the URL map as each role, so pages added later are covered: each
answer to a logged-in user (page, redirect, refusal) says ``no-store``; static files keep
their normal caching.
"""

from __future__ import annotations

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
