"""Staff pages: lists with search and paging, institution scope, the upload page."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from surveys.audit.models import AuditEvent
from surveys.registry.models import Graduate, Programme
from tests.conftest import csrf_token_from
from tests.registry.conftest import example


@pytest.fixture
def staff(make_user, institution, db):
    user = make_user("staff", institution, email="quality@qmii.example")
    db.commit()
    return user


@pytest.fixture
def other_institution(make_institution, make_programme, make_graduate, db):
    other = make_institution(code="TDTU", name="Toshkent davlat texnika universiteti")
    programme = make_programme(other, code="TD-1", name="Secret Programme")
    make_graduate(programme, full_name="Other Institution Graduate", student_number="TD0001")
    db.commit()
    return other


def _text(response) -> str:
    return response.get_data(as_text=True)


def _upload(client, kind, name, data=None, *, button="submit", **fields):
    page = _text(client.get("/registry/import"))
    form = {
        "csrf_token": csrf_token_from(page),
        "kind": kind,
        "file": (io.BytesIO(example(name) if data is None else data), name),
        button: "1",
        **fields,
    }
    return client.post(
        "/registry/import", data=form, content_type="multipart/form-data", follow_redirects=True
    )


def test_pages_need_staff_or_admin(client, make_user, login, db):
    assert client.get("/registry/").headers["Location"].startswith("/login")
    assert client.get("/registry/import").headers["Location"].startswith("/login")
    make_user("committee", email="c@committee.example")
    db.commit()
    login("c@committee.example")
    assert client.get("/registry/graduates").status_code == 403
    assert client.get("/registry/import").status_code == 403


def test_overview_counts_each_kind(client, staff, login, import_chain):
    import_chain()
    login(staff)
    page = _text(client.get("/registry/"))
    assert "Registry of Qarshi muhandislik-iqtisodiyot instituti" in page
    counts = dict(re.findall(r'href="/registry/(\w+)">[^<]+</a></th>\s*<td>(\d+)</td>', page))
    assert counts == {
        "programmes": "6",
        "graduates": "40",
        "employers": "8",
        "agreements": "8",
        "employment": "25",
        "internships": "10",
    }


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("programmes", "Oil and gas engineering"),
        ("graduates", "Nazarova Madina"),
        ("employers", "Qashqadaryo IT Park"),
        ("agreements", "<td>SH-003</td>"),
        ("agreements", "<td>Production training and practice</td>"),
        ("employment", "process engineer"),
        ("internships", "Xolmatova Kamola"),
    ],
)
def test_each_list_shows_own_rows_only(
    client, staff, login, import_chain, other_institution, kind, shown
):
    import_chain()
    login(staff)
    page = _text(client.get(f"/registry/{kind}"))
    assert shown in page
    assert "Other Institution Graduate" not in page and "Secret Programme" not in page
    assert 'id="institution-select"' not in page  # staff have no institution selector


def test_staff_cannot_ask_for_another_institution(client, staff, login, other_institution):
    login(staff)
    response = client.get(f"/registry/graduates?institution={other_institution.id}")
    assert response.status_code == 403
    assert "Not allowed" in _text(response)


def test_search_filters_and_paging(client, staff, login, institution, make_programme, db):
    first = make_programme(institution, code="A1")
    second = make_programme(institution, code="B2")
    for n in range(120):
        db.add(
            Graduate(
                institution_id=institution.id,
                programme=first if n < 100 else second,
                graduation_year=2023 if n % 2 else 2024,
                student_number=f"S{n:04d}",
                full_name=f"Person {n:04d}",
            )
        )
    db.commit()
    login(staff)
    page = _text(client.get("/registry/graduates"))
    assert "120 rows" in page
    assert page.count("<tr><td>S") == 50
    assert 'href="/registry/graduates?page=3"' in page
    last = _text(client.get("/registry/graduates?page=3"))
    assert last.count("<tr><td>S") == 20
    assert _text(client.get("/registry/graduates?page=99")).count("<tr><td>S") == 20
    found = _text(client.get("/registry/graduates?q=person+0007"))
    assert "1 row" in found and "Person 0007" in found and "Person 0008" not in found
    assert "20 rows" in _text(client.get("/registry/graduates?programme=B2"))
    assert "50 rows" in _text(client.get("/registry/graduates?programme=A1&year=2024"))
    filtered = _text(client.get("/registry/graduates?programme=A1&page=2"))
    assert "100 rows" in filtered
    assert re.findall(r'href="(/registry/graduates\?[^"]*)" rel="prev"', filtered) == [
        "/registry/graduates?page=1&amp;programme=A1"
    ]
    # LIKE wildcards are taken literally
    assert "Nothing found." in _text(client.get("/registry/graduates?q=%25_"))


def test_admin_chooses_the_institution(
    client, make_user, login, institution, other_institution, import_chain, db
):
    import_chain("graduates")
    make_user("admin", email="admin@hamkor.example")
    db.commit()
    login("admin@hamkor.example")
    page = _text(client.get(f"/registry/graduates?institution={other_institution.id}"))
    assert 'id="institution-select"' in page
    assert "Other Institution Graduate" in page and "Nazarova Madina" not in page
    page = _text(client.get(f"/registry/graduates?institution={institution.id}"))
    assert "Nazarova Madina" in page and "Other Institution Graduate" not in page
    assert client.get("/registry/graduates?institution=99999").status_code == 404


def _confirm_fields(page: str) -> dict[str, str]:
    """The hidden fields of the confirm form shown after a successful check."""
    form = page[page.index('<form method="post" class="actions">') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


def test_check_only_then_import_without_choosing_the_file_again(
    client, staff, login, import_chain, count, db
):
    import_chain("programmes")
    login(staff)
    response = _upload(client, "graduates", "graduates.csv", button="check")
    page = _text(response)
    assert response.status_code == 200
    assert "no problems" in page
    assert "would create 40, update 0 and leave 0 unchanged" in page
    assert "Nothing has been written yet." in page
    assert count(Graduate) == 0
    fields = _confirm_fields(page)
    assert set(fields) == {"csrf_token", "kind", "staged", "staged_name", "staged_signature"}
    response = client.post(
        "/registry/import", data={**fields, "submit": "1"}, follow_redirects=True
    )
    page = _text(response)
    assert "graduates.csv imported: 40 created, 0 updated, 0 unchanged." in page
    assert "Nazarova Madina" in page  # redirected to the graduates list
    assert count(Graduate) == 40
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "registry.import" and event.actor == "quality@qmii.example"
    assert event.details["kind"] == "graduates" and event.details["created"] == 40


def test_a_tampered_confirm_is_refused(client, staff, login, import_chain, count):
    import base64

    import_chain("programmes")
    login(staff)
    fields = _confirm_fields(_text(_upload(client, "graduates", "graduates.csv", button="check")))
    forged = example("graduates.csv").replace(b"Nazarova Madina", b"Someone Else")
    for changed in (
        {"staged": base64.b64encode(forged).decode()},
        {"kind": "employers"},
        {"staged": "not base64!"},
    ):
        response = client.post("/registry/import", data={**fields, **changed, "submit": "1"})
        assert response.status_code == 400
        assert "The checked file could not be confirmed. Choose the file again." in _text(response)
    assert count(Graduate) == 0


def test_large_checked_file_is_chosen_again(client, staff, login, import_chain, count):
    import_chain("programmes")
    login(staff)
    rows = [b"student_number,full_name,programme_code,graduation_year"]
    rows += [b"S%06d,A rather long graduate name %06d,60710100,2024" % (n, n) for n in range(6800)]
    page = _text(_upload(client, "graduates", "big.csv", b"\r\n".join(rows), button="check"))
    assert "would create 6800" in page
    assert "choose the same file again below" in page
    assert 'name="staged"' not in page


def test_bad_upload_shows_every_problem_and_writes_nothing(
    client, staff, login, import_chain, count
):
    import_chain("programmes")
    login(staff)
    response = _upload(client, "graduates", "graduates-bad.csv")
    page = _text(response)
    assert response.status_code == 422
    assert "graduates-bad.csv has 5 problems: nothing was imported" in page
    assert "<caption>Problems found in graduates-bad.csv</caption>" in page
    assert re.search(r"<td>6</td>\s*<td>email</td>\s*<td><code>not-an-email</code></td>", page)
    assert count(Graduate) == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "The file empty.csv is empty."),
        ("not-a-workbook.xlsx", "not-a-workbook.xlsx is not a valid Excel workbook"),
        ("wrong-header.csv", "Wrong header in row 1"),
        ("graduates-wrong-sheet.xlsx", "The workbook has the sheets Notes, Sheet2"),
    ],
)
def test_unreadable_uploads(client, staff, login, name, message, count):
    login(staff)
    response = _upload(client, "graduates", name)
    assert response.status_code == 422
    assert message in _text(response)
    assert count(Graduate) == 0


def test_upload_needs_a_csv_or_xlsx_file(client, staff, login):
    login(staff)
    response = _upload(client, "graduates", "photo.png", b"\x89PNG....")
    assert response.status_code == 400
    assert "Upload a .csv or .xlsx file." in _text(response)


def test_upload_over_the_limit_gets_the_too_large_page(app, client, staff, login, count):
    login(staff)
    token = csrf_token_from(_text(client.get("/registry/import")))
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = client.post(
        "/registry/import",
        data={
            "csrf_token": token,
            "kind": "graduates",
            "file": (io.BytesIO(b"x" * 100 * 1024), "big.csv"),
            "submit": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "File too large" in _text(response)
    assert count(Graduate) == 0


def test_staff_cannot_import_into_another_institution(
    client, staff, login, other_institution, import_chain, count
):
    import_chain("programmes")
    login(staff)
    response = _upload(client, "graduates", "graduates.csv", institution=other_institution.id)
    assert response.status_code == 200  # the field does not exist for staff: ignored
    assert count(Graduate, institution_id=other_institution.id) == 1
    assert count(Graduate) == 41


def test_admin_imports_into_the_chosen_institution(
    client, make_user, login, other_institution, count, db
):
    make_user("admin", email="admin@hamkor.example")
    db.commit()
    login("admin@hamkor.example")
    page = _text(client.get("/registry/import"))
    assert 'name="institution"' in page
    data = b"code,name,level,field_of_study\r\nTD-2,Mining,master,Engineering\r\n"
    response = _upload(client, "programmes", "p.csv", data, institution=other_institution.id)
    assert "p.csv imported: 1 created" in _text(response)
    assert f"institution={other_institution.id}" in response.request.url
    assert count(Programme, institution_id=other_institution.id) == 2


def test_import_page_documents_columns_and_serves_templates(client, staff, login):
    login(staff)
    page = _text(client.get("/registry/import"))
    assert "<code>student_number</code>" in page
    assert 'href="/registry/templates/internships.csv"' in page
    response = client.get("/registry/templates/graduates.csv")
    assert response.mimetype == "text/csv"
    assert response.get_data() == (
        b"\xef\xbb\xbfstudent_number,full_name,programme_code,graduation_year,email,"
        b"employment_status\r\n"
    )
    assert client.get("/registry/templates/nothing.csv").status_code == 404


def test_database_refusal_during_import_is_a_clear_message(
    client, staff, login, import_chain, count, monkeypatch
):
    from sqlalchemy.exc import IntegrityError

    from surveys.registry import imports

    import_chain("programmes")
    login(staff)

    def refuse(self, session):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(imports.Plan, "write", refuse)
    response = _upload(client, "graduates", "graduates.csv")
    assert response.status_code == 409
    assert "The database refused the import and nothing was written" in _text(response)
    assert count(Graduate) == 0


def test_admin_without_institutions_is_told_so(client, make_user, login, db):
    make_user("admin", email="admin@hamkor.example")
    db.commit()
    login("admin@hamkor.example")
    assert "There are no institutions yet." in _text(client.get("/registry/"))
    assert "There are no institutions yet." in _text(client.get("/registry/employers"))
