"""One search for every list: Cyrillic and Uzbek case, apostrophes, literal wildcards.

The folding is checked on its own, then through the lists that use it (registry lists, the
admin's user, enterprise and audit lists) on both databases, and the stored ``search_text``
is checked to follow every write path: ORM flushes, bulk imports, admin edits, the demo.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveys.audit.models import AuditEvent
from surveys.orm import Base
from surveys.search import Searchable, fold, search_text_for
from tests.world import logged_in_client


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("иванов", "Иванов Азиз"),
        ("ИВАНОВ", "иванов азиз"),
        ("o'g'li", "Karimov Aziz oʻgʻli"),  # U+02BB, the Uzbek letter
        ("oʻgʻli", "Karimov Aziz o'g'li"),
        ("o`g`li", "Karimov Aziz o’g’li"),  # grave accent, right single quotation mark
        ("oʼgʼli", "Karimov Aziz o‘g‘li"),  # U+02BC, left single quotation mark
        ("ЎЗБЕК", "ўзбек"),
        ("ҚАРШИ", "қарши"),
        ("федоров", "Фёдоров"),
        ("shaxsi  yo'q", "Shaxsi\u00a0yoʻq"),  # runs of (non-breaking) spaces are one space
        ("ﬁrma", "FIRMA"),  # compatibility forms
    ],
)
def test_fold_makes_what_a_user_types_match_what_is_stored(typed, stored):
    assert fold(typed) in fold(stored)


def test_fold_drops_control_characters_and_keeps_wildcards():
    assert fold("a\x00b\tc") == "a b c"
    assert fold(r"100%_\x") == r"100%_\x"
    assert fold(None) == ""


def test_every_searchable_model_names_real_fields():
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if issubclass(model, Searchable):
            assert model.__search_fields__, model
            assert set(model.__search_fields__) <= set(mapper.columns.keys()), model


@pytest.fixture
def staff_client(app, db, make_user, make_institution, make_programme, make_graduate):
    institution = make_institution(code="QMII")
    programme = make_programme(institution, code="OG", name="Neft va gaz")
    for name, number in [
        ("Иванов Азиз oʻgʻli", "QM-1"),
        ("Petrova Anna", "QM-2"),
        ("100% Sultonov", "QM-3"),
        ("Under_score Bek", "QM-4"),
        (r"Back\slash Ali", "QM-5"),
        ("Karimov Aziz o'g'li", "QM-6"),
    ]:
        make_graduate(programme, full_name=name, student_number=number)
    staff = make_user("staff", institution, email="staff@qmii.example")
    db.commit()
    return logged_in_client(app, staff)


def _found(client, url: str) -> set[str]:
    import re

    html = client.get(url).get_data(as_text=True)
    return set(re.findall(r"<td>(QM-\d)</td>", html))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("иванов", {"QM-1"}),
        ("ИВАНОВ", {"QM-1"}),
        ("o'g'li", {"QM-1", "QM-6"}),
        ("oʻgʻli", {"QM-1", "QM-6"}),
        ("o’g’li", {"QM-1", "QM-6"}),
        ("%", {"QM-3"}),
        ("_", {"QM-4"}),
        ("\\", {"QM-5"}),
        ("qm-2", {"QM-2"}),
        ("a%n", set()),  # % is not a wildcard
    ],
)
def test_registry_search_folds_case_and_apostrophes_and_takes_wildcards_literally(
    staff_client, query, expected
):
    from urllib.parse import quote

    assert _found(staff_client, f"/registry/graduates?q={quote(query)}") == expected


def test_admin_user_and_audit_lists_search_literally(app, db, make_user):
    admin = make_user("admin", email="root@hamkor.example")
    make_user("admin", email="a_b@hamkor.example")
    make_user("admin", email="axb@hamkor.example")
    make_user("admin", email="back\\slash@hamkor.example")
    db.add_all(
        [
            AuditEvent(actor="back\\slash@hamkor.example", action="test.one"),
            AuditEvent(actor="a_b@hamkor.example", action="test.two"),
            AuditEvent(actor="axb@hamkor.example", action="test.three"),
        ]
    )
    db.commit()
    client = logged_in_client(app, admin)
    users = client.get("/admin/users?q=A_B").get_data(as_text=True)
    assert "a_b@hamkor.example" in users and "axb@hamkor.example" not in users
    users = client.get("/admin/users?q=%5C").get_data(as_text=True)  # a backslash
    assert "1 user" in users and "back\\slash@hamkor.example" in users
    audit = client.get("/audit?actor=%5C").get_data(as_text=True)
    assert "test.one" in audit and "test.two" not in audit.split("<table", 1)[-1]
    audit = client.get("/audit?actor=a_b").get_data(as_text=True)
    rows = audit.split("<tbody", 1)[-1]
    assert "a_b@hamkor.example" in rows and "axb@hamkor.example" not in rows


def stale_search_rows(session) -> list[tuple[str, int]]:
    """(table, id) of every row whose ``search_text`` is not what its fields give."""
    stale = []
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if not issubclass(model, Searchable):
            continue
        for row in session.scalars(select(model)):
            values = {name: getattr(row, name) for name in model.__search_fields__}
            if row.search_text != search_text_for(model, values):
                stale.append((model.__tablename__, row.id))
    return stale
