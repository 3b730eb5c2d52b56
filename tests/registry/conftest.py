"""Fixtures of the registry tests: the example files and a service-level import helper."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveys.registry.imports import ImportResult, import_registry_file

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"

#: The example files in import order (each refers to the ones before it).
CHAIN = ("programmes", "graduates", "employers", "agreements", "employment", "internships")


def example(name: str) -> bytes:
    """The bytes of ``docs/examples/<name>``."""
    return (EXAMPLES / name).read_bytes()


@pytest.fixture
def run_import(app):
    """Import bytes (or an example file) for an institution as the upload page would.

    Runs inside a request context (translations need one) on the app's session and commits
    when the import wrote something, as the request boundary does.
    """
    from surveys.extensions import db as app_db
    from surveys.registry.models import Institution

    def _run(
        institution_id: int,
        kind: str,
        name: str,
        data: bytes | None = None,
        **kwargs,
    ) -> ImportResult:
        with app.test_request_context():
            institution = app_db.session.get(Institution, institution_id)
            result = import_registry_file(
                app_db.session,
                institution,
                kind,
                example(name) if data is None else data,
                name,
                **kwargs,
            )
            if result.written:
                app_db.session.commit()
            else:
                app_db.session.rollback()
            app_db.session.remove()
        return result

    return _run


@pytest.fixture
def count(db):
    """Rows of a model (fresh from the database)."""

    def _count(model, **where) -> int:
        db.rollback()
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return db.scalar(stmt)

    return _count


@pytest.fixture
def institution(make_institution, db):
    inst = make_institution(code="QMII", name="Qarshi muhandislik-iqtisodiyot instituti")
    db.commit()
    return inst


@pytest.fixture
def import_chain(run_import, institution):
    """Import every example file of the chain into ``institution``; returns the results."""

    def _chain(upto: str = "internships") -> dict[str, ImportResult]:
        results = {}
        for kind in CHAIN:
            results[kind] = run_import(institution.id, kind, f"{kind}.csv")
            assert results[kind].ok, results[kind].errors
            if kind == upto:
                break
        return results

    return _chain
