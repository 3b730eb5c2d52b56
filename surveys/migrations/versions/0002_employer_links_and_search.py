"""employer links (tenancy of shared employers), folded search columns, names per language

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

An enterprise's shared identity stays in ``employers`` (tax number, official name, sector,
region, pseudonym); what an institution typed about it moves to that institution's own row in
``employer_links`` (name, sector, region, contact, notes). Every institution that had the
employer in its registry — or named it in an agreement, employment record, internship or
invitation — gets a link carrying the employer's current name, sector, region and contact, so
nothing an institution saw is lost; then the contact columns leave ``employers`` and the bare
``institution_employers`` table goes.

Searchable tables get ``search_text`` (see ``surveys/search.py``), filled here for existing
rows; institutions and programmes get names per language, institutions a privacy notice per
language.

Downgrade puts one contact back on each employer (from its oldest link) and rebuilds
``institution_employers`` from the links: with two institutions' contacts for one employer,
one of them is lost, as in the schema being returned to.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import surveys.orm
from surveys.search import FIELD_SEPARATOR, fold

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Rows per UPDATE batch while filling ``search_text``.
CHUNK = 5000

#: Searchable tables and the columns their ``search_text`` is made of (as in the models).
SEARCH_FIELDS = {
    "programmes": ("code", "name", "field_of_study"),
    "graduates": ("full_name", "student_number", "email"),
    "employers": ("tax_number", "name", "sector", "region"),
    "partnership_agreements": ("number",),
    "employment_records": ("position",),
    "internships": ("mentor_name",),
}
LINK_FIELDS = ("name", "sector", "region", "contact_name", "contact_email", "notes")


def _search_text(values) -> str:
    return FIELD_SEPARATOR.join(f for f in (fold(v) for v in values) if f)


def _search_column() -> sa.Column:
    return sa.Column("search_text", sa.Text(), server_default="", nullable=False)


def upgrade() -> None:
    op.create_table(
        "employer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sector", sa.String(length=128), nullable=True),
        sa.Column("region", sa.String(length=128), nullable=True),
        sa.Column("contact_name", sa.String(length=255), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", surveys.orm.UTCDateTime(), nullable=False),
        sa.Column("updated_at", surveys.orm.UTCDateTime(), nullable=False),
        _search_column(),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_employer_links_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_employer_links_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_links")),
        sa.UniqueConstraint(
            "institution_id",
            "employer_id",
            name=op.f("uq_employer_links_institution_id_employer_id"),
        ),
    )
    with op.batch_alter_table("employer_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employer_links_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_employer_links_institution_id"), ["institution_id"], unique=False
        )

    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("names", sa.JSON(), server_default="{}", nullable=False))
        batch_op.add_column(
            sa.Column("privacy_notices", sa.JSON(), server_default="{}", nullable=False)
        )
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("names", sa.JSON(), server_default="{}", nullable=False))
    for table in SEARCH_FIELDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_search_column())
    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", surveys.orm.UTCDateTime(), nullable=True))

    bind = op.get_bind()
    employers = sa.table("employers", sa.column("created_at", surveys.orm.UTCDateTime()))
    bind.execute(employers.update().values(created_at=dt.datetime.now(dt.UTC)))
    _create_links(bind)

    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=surveys.orm.UTCDateTime(), nullable=False)
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_name")
    op.drop_table("institution_employers")

    for table, fields in SEARCH_FIELDS.items():
        _fill_search_text(bind, table, fields)


def _create_links(bind) -> None:
    """One link per (institution, employer) pair the institution had or used, with the
    employer's current name, sector, region and contact (what the institution saw)."""
    pairs = sa.text(
        """
        SELECT institution_id, employer_id FROM institution_employers
        UNION
        SELECT institution_id, employer_id FROM partnership_agreements
        UNION
        SELECT g.institution_id, r.employer_id
          FROM employment_records r JOIN graduates g ON g.id = r.graduate_id
        UNION
        SELECT g.institution_id, i.employer_id
          FROM internships i JOIN graduates g ON g.id = i.graduate_id
        UNION
        SELECT c.institution_id, v.employer_id
          FROM invitations v JOIN campaigns c ON c.id = v.campaign_id
        """
    )
    employers = {
        row.id: row
        for row in bind.execute(
            sa.text("SELECT id, name, sector, region, contact_name, contact_email FROM employers")
        )
    }
    links = sa.table(
        "employer_links",
        sa.column("institution_id", sa.Integer()),
        sa.column("employer_id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("sector", sa.String()),
        sa.column("region", sa.String()),
        sa.column("contact_name", sa.String()),
        sa.column("contact_email", sa.String()),
        sa.column("notes", sa.Text()),
        sa.column("search_text", sa.Text()),
        sa.column("created_at", surveys.orm.UTCDateTime()),
        sa.column("updated_at", surveys.orm.UTCDateTime()),
    )
    now = dt.datetime.now(dt.UTC)
    rows = []
    for institution_id, employer_id in sorted(bind.execute(pairs).all()):
        employer = employers[employer_id]
        values = {
            "name": employer.name,
            "sector": employer.sector,
            "region": employer.region,
            "contact_name": employer.contact_name,
            "contact_email": employer.contact_email,
            "notes": None,
        }
        rows.append(
            {
                "institution_id": institution_id,
                "employer_id": employer_id,
                **values,
                "search_text": _search_text(values[f] for f in LINK_FIELDS),
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), CHUNK):
        bind.execute(links.insert(), rows[start : start + CHUNK])


def _fill_search_text(bind, table: str, fields: tuple[str, ...]) -> None:
    target = sa.table(table, sa.column("id", sa.Integer()), sa.column("search_text", sa.Text()))
    statement = (
        target.update()
        .where(target.c.id == sa.bindparam("row_id"))
        .values(search_text=sa.bindparam("text"))
    )
    select = sa.text(f"SELECT id, {', '.join(fields)} FROM {table} ORDER BY id")
    batch = []
    for row in bind.execute(select).all():
        batch.append({"row_id": row[0], "text": _search_text(row[1:])})
        if len(batch) == CHUNK:
            bind.execute(statement, batch)
            batch = []
    if batch:
        bind.execute(statement, batch)


def downgrade() -> None:
    op.create_table(
        "institution_employers",
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_institution_employers_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_institution_employers_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "institution_id", "employer_id", name=op.f("pk_institution_employers")
        ),
        comment="Employers in an institution's registry (imported or linked by an agreement).",
    )
    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO institution_employers (institution_id, employer_id) "
            "SELECT institution_id, employer_id FROM employer_links"
        )
    )
    oldest = bind.execute(
        sa.text(
            "SELECT employer_id, contact_name, contact_email FROM employer_links "
            "WHERE id IN (SELECT MIN(id) FROM employer_links GROUP BY employer_id)"
        )
    ).all()
    if oldest:
        bind.execute(
            sa.text(
                "UPDATE employers SET contact_name = :name, contact_email = :email "
                "WHERE id = :employer_id"
            ),
            [{"employer_id": e, "name": n, "email": m} for e, n, m in oldest],
        )
    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.drop_column("created_at")
    for table in SEARCH_FIELDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_text")
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_column("names")
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("privacy_notices")
        batch_op.drop_column("names")
    with op.batch_alter_table("employer_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employer_links_institution_id"))
        batch_op.drop_index(batch_op.f("ix_employer_links_employer_id"))
    op.drop_table("employer_links")
