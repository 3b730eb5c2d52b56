"""Whatever a client puts in a registry URL or form, the answer is a page or a clear 4xx."""

from __future__ import annotations

import base64
import re

import pytest

from surveys.registry import services
from surveys.registry.services import LIST_KINDS
from tests.conftest import csrf_token_from
from tests.world import logged_in_client


@pytest.fixture
def staff(app, make_user, institution, db):
    user = make_user("staff", institution, email="quality@qmii.example")
    db.commit()
    return logged_in_client(app, user)


@pytest.fixture
def admin(app, make_user, db):
    user = make_user("admin", email="root@hamkor.example")
    db.commit()
    return logged_in_client(app, user)


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_a_stray_kind_argument_does_not_break_the_pager(staff, import_chain, monkeypatch):
    import_chain()
    monkeypatch.setattr(services, "PER_PAGE", 2)  # every list has several pages
    for kind in LIST_KINDS:
        response = staff.get(f"/registry/{kind}?kind=x&q=&page=2")
        assert response.status_code == 200, kind
        pager = re.search(r'<nav class="pager".*?</nav>', _text(response), re.S)
        assert pager is not None, kind
        links = re.findall(r'href="([^"]+)"', pager.group(0))
        assert links and all(link.startswith(f"/registry/{kind}?") for link in links), links
        assert not any("kind=" in link for link in links)


@pytest.mark.parametrize(
    "query",
    [
        "year=99999999999",
        "year=-5",
        "year=%C2%B2",  # '²' is a digit to str.isdigit(), not to int()
        "page=99999999999999999999",
        "page=-1",
        "programme=%00",
        "q=%00",
        "q=Ivan%00ov",
        "programme=60710100%00&year=2024",
    ],
)
def test_odd_filters_are_ignored_or_matched_literally(staff, import_chain, query):
    import_chain("graduates")
    response = staff.get(f"/registry/graduates?{query}")
    assert response.status_code == 200
    assert "row" in _text(response)


def test_nul_in_a_search_is_dropped_not_sent_to_the_database(staff, import_chain):
    import_chain("graduates")
    page = _text(staff.get("/registry/graduates?q=Nazar%00ova"))
    assert "Nazarova Madina" in page


# a NUL is dropped from every argument (surveys.web.HamkorRequest): "1%00x" arrives as "1x"
@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "0", "abc", "1%00x"])
def test_an_institution_id_that_cannot_exist_is_not_found(staff, admin, institution, value):
    paths = {
        staff: ("/registry/", "/registry/graduates"),  # staff's import page ignores it
        admin: ("/registry/", "/registry/graduates", "/registry/import"),
    }
    for client, urls in paths.items():
        for path in urls:
            response = client.get(f"{path}?institution={value}")
            assert response.status_code == 404, (path, value)


def test_a_post_without_a_file_is_refused_clearly_whatever_else_it_carries(staff, institution):
    # the file now travels with the import job; fields of the old "staged" confirm form
    # (a non-ASCII signature made compare_digest raise) are ignored, never trusted
    page = _text(staff.get("/registry/import"))
    data = b"code,name,level,field_of_study\r\nX1,Test,bachelor,Engineering\r\n"
    response = staff.post(
        "/registry/import",
        data={
            "csrf_token": csrf_token_from(page),
            "kind": "programmes",
            "staged": base64.b64encode(data).decode(),
            "staged_name": "p.csv",
            "staged_signature": "é" * 64,
            "submit": "1",
        },
    )
    assert response.status_code == 400
    assert "Choose a file to upload." in _text(response)
