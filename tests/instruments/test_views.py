"""The read-only staff pages listing instruments and showing a version."""

from __future__ import annotations

from surveys.instruments.services import load_builtin_instruments, load_definition
from tests.instruments.test_definitions import minimal


def test_staff_see_instruments_and_versions(client, db, make_user, login):
    load_builtin_instruments(db)
    load_definition(db, minimal())
    changed = minimal()
    changed["title"]["en"] = "Mini, revised"
    load_definition(db, changed)
    user = make_user("staff")
    db.commit()
    login(user)
    page = client.get("/instruments/?lang=en").get_data(as_text=True)
    assert "Graduate attestation: the employer&#39;s assessment" in page
    assert "Mini, revised" in page and ">Mini<" in page
    assert 'href="/instruments/mini/v2"' in page and 'href="/instruments/mini/v1"' in page
    assert 'aria-current="page"' in page  # the menu marks Instruments as the current page


def test_version_structure_in_the_chosen_language(client, db, make_user, login):
    load_builtin_instruments(db)
    user = make_user("admin")
    db.commit()
    login(user)
    page = client.get("/instruments/interview/v1?lang=uz").get_data(as_text=True)
    assert "Bitiruvchi bilan tuzilgan suhbat bayonnomasi" in page
    assert "Suhbatda bitiruvchi mutaxassislikning nazariy asoslarini" in page
    assert "Toʻliq qoʻshilaman" in page
    page = client.get("/instruments/interview/v1?lang=ru").get_data(as_text=True)
    assert "Протокол структурированного собеседования с выпускником" in page
    assert client.get("/instruments/interview/v9").status_code == 404


def test_anonymous_and_committee_are_kept_out(client, db, make_user, login):
    load_builtin_instruments(db)
    user = make_user("committee")
    db.commit()
    response = client.get("/instruments/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(user)
    response = client.get("/instruments/attestation/v1")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
