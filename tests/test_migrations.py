"""Data migrations move existing rows without loss, on both backends.

Each test builds a database at an older revision with the real migrations, fills it with
rows as that schema had them, migrates to the newest revision and reads the rows back. On
PostgreSQL the database is a schema of its own in the test database (dropped afterwards),
so the suite's schema is untouched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from surveys import create_app
from surveys.extensions import db as _db
from surveys.migrate import upgrade_database
from surveys.orm import UTCDateTime
from tests.conftest import _postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path) -> Iterator[str]:
    """An empty database of one backend, for migrating by hand."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    base = _postgres_url()
    if base is None:
        pytest.skip("PostgreSQL does not answer (set HAMKOR_TEST_DATABASE_URL)")
    schema = f"migrate_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "migrate", "TESTING": True})
    with app.app_context():
        if down:
            from alembic import command

            from surveys.migrate import alembic_config

            command.downgrade(alembic_config(app), revision)
        else:
            upgrade_database(app, revision)
        _db.engine.dispose()


def _fill_0001(conn) -> dict[str, int]:
    """Two institutions and four employers as revision 0001 stored them."""
    now = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    institutions = sa.table(
        "institutions",
        sa.column("id"),
        sa.column("code"),
        sa.column("name"),
        sa.column("created_at", UTCDateTime()),
    )
    conn.execute(
        institutions.insert(),
        [
            {"id": 1, "code": "QMII", "name": "Qarshi", "created_at": now},
            {"id": 2, "code": "TDTU", "name": "Toshkent", "created_at": now},
        ],
    )
    conn.execute(
        sa.text(
            "INSERT INTO employers (id, name, tax_number, sector, region, contact_name, "
            "contact_email, pseudonym) VALUES (:id, :name, :tax, :sector, :region, :cname, "
            ":cmail, :pseudonym)"
        ),
        [
            {
                "id": 1,
                "name": "Sho'rtan GCC",
                "tax": "302345671",
                "sector": "Oil and gas",
                "region": "Qashqadaryo",
                "cname": "Karimov Aziz oʻgʻli",
                "cmail": "hr@shurtan.example",
                "pseudonym": "E-1",
            },
            {
                "id": 2,
                "name": "Uzbekneftegaz",
                "tax": "302345675",
                "sector": None,
                "region": "Toshkent",
                "cname": None,
                "cmail": "hr@ung.example",
                "pseudonym": "E-2",
            },
            {
                "id": 3,
                "name": "Navoiyazot",
                "tax": "302345679",
                "sector": "Chemistry",
                "region": "Navoiy",
                "cname": "Петров",
                "cmail": None,
                "pseudonym": "E-3",
            },
            {
                "id": 4,
                "name": "IT Park",
                "tax": "302345678",
                "sector": "IT",
                "region": None,
                "cname": None,
                "cmail": "it@park.example",
                "pseudonym": "E-4",
            },
        ],
    )
    conn.execute(
        sa.text("INSERT INTO institution_employers (institution_id, employer_id) VALUES (:i, :e)"),
        [{"i": 1, "e": 1}, {"i": 1, "e": 2}, {"i": 2, "e": 2}],
    )
    conn.execute(
        sa.text(
            "INSERT INTO programmes (id, institution_id, code, name, level, field_of_study) "
            "VALUES (1, 1, 'P1', 'Neft va gaz', 'bachelor', 'Engineering')"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO graduates (id, institution_id, programme_id, graduation_year, "
            "student_number, full_name, email, pseudonym) VALUES (1, 1, 1, 2024, 'QM1', "
            "'Иванов Азиз oʻgʻli', NULL, 'G-1')"
        )
    )
    # TDTU named employer 3 in an agreement, QMII employs a graduate at employer 4: neither
    # pair is in institution_employers, yet both institutions worked with them
    conn.execute(
        sa.text(
            "INSERT INTO partnership_agreements (id, institution_id, employer_id, kind, number, "
            "signed_on, valid_from) VALUES (1, 2, 3, 'internship', 'T-1', :d, :d)"
        ),
        {"d": dt.date(2024, 1, 10)},
    )
    conn.execute(
        sa.text(
            "INSERT INTO employment_records (id, graduate_id, employer_id, position, "
            "start_date) VALUES (1, 1, 4, 'Engineer', :d)"
        ),
        {"d": dt.date(2024, 9, 1)},
    )
    return {"employers": 4}


def test_0002_gives_each_institution_its_own_link_with_the_contact_it_saw(scratch_url):
    _migrate(scratch_url, "0001")
    engine = sa.create_engine(scratch_url)
    with engine.begin() as conn:
        _fill_0001(conn)
    engine.dispose()

    _migrate(scratch_url, "head")

    engine = sa.create_engine(scratch_url)
    with engine.connect() as conn:
        links = conn.execute(
            sa.text(
                "SELECT institution_id, employer_id, name, sector, region, contact_name, "
                "contact_email, notes, search_text FROM employer_links "
                "ORDER BY institution_id, employer_id"
            )
        ).all()
        employers = conn.execute(
            sa.text("SELECT id, name, tax_number, sector, region, pseudonym FROM employers")
        ).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("employers")}
        tables = set(sa.inspect(conn).get_table_names())
        graduate_search = conn.execute(sa.text("SELECT search_text FROM graduates")).scalar()
    engine.dispose()

    shurtan = ("Sho'rtan GCC", "Oil and gas", "Qashqadaryo", "Karimov Aziz oʻgʻli")
    assert [tuple(row[:8]) for row in links] == [
        (1, 1, *shurtan, "hr@shurtan.example", None),
        (1, 2, "Uzbekneftegaz", None, "Toshkent", None, "hr@ung.example", None),
        (1, 4, "IT Park", "IT", None, None, "it@park.example", None),
        (2, 2, "Uzbekneftegaz", None, "Toshkent", None, "hr@ung.example", None),
        (2, 3, "Navoiyazot", "Chemistry", "Navoiy", "Петров", None, None),
    ]  # fmt: skip
    assert links[0].search_text.splitlines() == [
        "sho'rtan gcc",
        "oil and gas",
        "qashqadaryo",
        "karimov aziz o'g'li",
        "hr@shurtan.example",
    ]
    # the shared identities lose nothing but the contact, which moved to the links
    assert sorted(employers) == [
        (1, "Sho'rtan GCC", "302345671", "Oil and gas", "Qashqadaryo", "E-1"),
        (2, "Uzbekneftegaz", "302345675", None, "Toshkent", "E-2"),
        (3, "Navoiyazot", "302345679", "Chemistry", "Navoiy", "E-3"),
        (4, "IT Park", "302345678", "IT", None, "E-4"),
    ]
    assert not {"contact_name", "contact_email"} & columns
    assert "institution_employers" not in tables
    assert graduate_search == "иванов азиз o'g'li\nqm1"


def test_0002_downgrades_back_to_one_contact_per_employer(scratch_url):
    _migrate(scratch_url, "0001")
    engine = sa.create_engine(scratch_url)
    with engine.begin() as conn:
        _fill_0001(conn)
    engine.dispose()
    _migrate(scratch_url, "head")
    _migrate(scratch_url, "0001", down=True)

    engine = sa.create_engine(scratch_url)
    with engine.connect() as conn:
        contacts = conn.execute(
            sa.text("SELECT id, contact_name, contact_email FROM employers ORDER BY id")
        ).all()
        pairs = conn.execute(
            sa.text("SELECT institution_id, employer_id FROM institution_employers")
        ).all()
    engine.dispose()
    assert [tuple(c) for c in contacts] == [
        (1, "Karimov Aziz oʻgʻli", "hr@shurtan.example"),
        (2, None, "hr@ung.example"),
        (3, "Петров", None),
        (4, None, "it@park.example"),
    ]
    assert sorted(tuple(p) for p in pairs) == [(1, 1), (1, 2), (1, 4), (2, 2), (2, 3)]
