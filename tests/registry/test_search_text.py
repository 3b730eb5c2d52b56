"""The stored ``search_text`` follows every write path: bulk imports, ORM edits."""

from __future__ import annotations

from sqlalchemy import select

from surveys.registry.models import Employer
from tests.auth.helpers import post_form
from tests.test_search import stale_search_rows
from tests.world import logged_in_client


def test_search_text_follows_imports_and_admin_edits(
    app, db, run_import, make_user, import_chain, institution
):
    import_chain()  # bulk inserts of every kind
    changed = (
        "student_number,full_name,programme_code,graduation_year\r\n"
        "QM240001,ЗАЙНИДДИНОВА Мадина oʻgʻli,60710100,2024\r\n"
    ).encode()
    assert run_import(institution.id, "graduates", "g.csv", changed).updated == 1  # bulk update
    renamed = (
        "code,name,level,field_of_study,name_ru\r\n60710100,Oil and gas,bachelor,Eng,Нефть\r\n"
    )
    assert run_import(institution.id, "programmes", "p.csv", renamed.encode()).updated == 1
    admin = make_user("admin", email="root@hamkor.example")
    db.commit()
    client = logged_in_client(app, admin)
    employer = db.scalar(select(Employer).where(Employer.tax_number == "302345671"))
    post_form(  # an ORM update through the admin page
        client,
        f"/admin/enterprises/{employer.id}",
        {"tax_number": "302345671", "name": "ШЎРТАН ГКК", "sector": "", "region": "Qashqadaryo"},
    )
    db.expire_all()
    assert stale_search_rows(db) == []
    base = f"/registry/graduates?institution={institution.id}"
    assert "QM240001" in client.get(f"{base}&q=зайниддинова").get_data(as_text=True)
    programmes = client.get(f"/registry/programmes?institution={institution.id}&q=НЕФТЬ")
    assert "60710100" in programmes.get_data(as_text=True)
    assert "302345671" in client.get("/admin/enterprises?q=шўртан").get_data(as_text=True)
