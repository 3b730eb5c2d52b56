"""Error pages are pages of the app: the user's menu, account and language, and a way back."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_token_from
from tests.world import logged_in_client, seed_world

#: (status, how to get it as staff, the page's title in English, in Russian)
STAFF_ERRORS = [
    (
        400,
        ("POST", "/registry/import", {}),
        "The request could not be accepted",
        "не может быть принят",
    ),
    (403, ("GET", "/admin/users", None), "Not allowed", "Доступ запрещён"),
    (404, ("GET", "/nowhere", None), "Page not found", "Страница не найдена"),
    (405, ("DELETE", "/registry/import", None), "This action is not possible here", "невозможно"),
]


def has_link(html: str, href: str, text: str) -> bool:
    """Whether ``html`` has a link to ``href`` that reads ``text``."""
    return (
        re.search(rf'<a [^>]*href="{re.escape(href)}"[^>]*>{re.escape(text)}</a>', html) is not None
    )


@pytest.mark.parametrize(("status", "request_", "english", "russian"), STAFF_ERRORS)
def test_error_pages_keep_the_menu_the_user_and_the_language(
    app, db, status, request_, english, russian
):
    world = seed_world(db)
    client = logged_in_client(app, world.staff)
    method, url, data = request_
    page = client.open(url, method=method, data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == status
    assert english in html
    assert 'href="/registry/"' in html  # the staff menu
    assert world.staff.email in html and "Log out" in html
    assert has_link(html, "/", "Go to the start page")
    client.get("/login?lang=ru")
    russian_page = client.open(url, method=method, data=data).get_data(as_text=True)
    assert '<html lang="ru">' in russian_page and russian in russian_page
    assert world.staff.email in russian_page


def test_a_file_too_large_page_keeps_the_menu_and_leads_back_to_the_form(app, db):
    world = seed_world(db)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    client = logged_in_client(app, world.staff)
    token = csrf_token_from(client.get("/registry/import").get_data(as_text=True))
    # a browser's multipart body with a 1.5 MB file; the limit is checked before it is read
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="g.csv"\r\n\r\n'
        ).encode()
        + b"x" * 1_500_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    kind = f"multipart/form-data; boundary={boundary}"
    page = client.post("/registry/import", data=body, content_type=kind)
    html = page.get_data(as_text=True)
    assert page.status_code == 413
    assert "File too large" in html and "The upload is larger than 1 MB" in html
    assert world.staff.email in html and 'href="/registry/"' in html
    assert has_link(html, "/registry/import", "Back to the page")
    assert has_link(html, "/", "Go to the start page")
    client.get("/login?lang=ru")
    russian = client.post("/registry/import", data=body, content_type=kind)
    assert russian.status_code == 413
    assert "Файл слишком большой" in russian.get_data(as_text=True)


def test_the_refused_csrf_page_names_the_check_and_leads_back(app, db):
    world = seed_world(db)
    client = logged_in_client(app, world.admin)
    page = client.post("/admin/institutions/new", data={"code": "X", "name": "Y"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "CSRF" in html and "Reload the page" in html
    assert world.admin.email in html
    assert has_link(html, "/admin/institutions/new", "Back to the page")


def test_an_error_on_an_employer_link_offers_the_form_not_the_login(app, db):
    world = seed_world(db)
    client = logged_in_client(app, None)
    url = f"/s/{world.params['token']}"
    page = client.post(url, data={"section": "1"})  # no CSRF token
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert has_link(html, url, "Back to the page")
    assert "Go to the start page" not in html


def test_a_method_the_address_does_not_take_is_refused_with_allow(app, db):
    world = seed_world(db)
    page = logged_in_client(app, world.admin).put("/admin/users")
    assert page.status_code == 405
    assert set(page.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    assert "This action is not possible here" in page.get_data(as_text=True)


def test_the_favicon_is_served_by_the_app(client):
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    ico.close()
    login = client.get("/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', login).group(1)
    svg = client.get(icon)
    assert svg.status_code == 200 and b"<svg" in svg.data
    svg.close()


#: The title of each error page in Russian.
RUSSIAN_TITLES = {
    400: "Запрос не может быть принят",
    403: "Доступ запрещён",
    404: "Страница не найдена",
    405: "Это действие здесь невозможно",
    409: "Данные изменились",
    410: "Больше недоступно",
    413: "Файл слишком большой",
    422: "Данные не удалось обработать",
    429: "Слишком много попыток",
    500: "На нашей стороне произошла ошибка",
}


def test_every_error_page_in_the_users_language_with_menu_and_a_way_home(app, db):
    from flask import abort

    def fail(code: int):
        if code == 500:
            raise RuntimeError("an unexpected failure")
        abort(code)

    app.add_url_rule("/fail/<int:code>", "fail", fail)
    world = seed_world(db)
    client = logged_in_client(app, world.staff)
    client.get("/login?lang=ru")
    for code, title in RUSSIAN_TITLES.items():
        page = client.get(f"/fail/{code}")
        html = page.get_data(as_text=True)
        assert page.status_code == code
        assert '<html lang="ru">' in html and title in html, (code, html[-1500:])
        assert world.staff.email in html and 'href="/registry/"' in html, code
        assert has_link(html, "/", "На начальную страницу"), code
        assert page.headers["Cache-Control"] == "no-store"
