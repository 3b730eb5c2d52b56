"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from surveys.orm import Base


def test_migrations_match_models(db):
    with db.get_bind().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; run the autogenerate step: {diff}"


def test_migrations_are_at_head(app, db):
    from alembic.script import ScriptDirectory

    from surveys.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(app)).get_heads()
    with db.get_bind().connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    assert set(current) == set(heads) and len(heads) == 1
