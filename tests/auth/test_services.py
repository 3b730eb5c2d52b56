"""The auth and admin services called directly: they validate, audit and flush, never commit."""

import pytest
from sqlalchemy import func, select

from surveys.admin import services
from surveys.admin.services import committee_assignments
from surveys.audit.models import AuditEvent
from surveys.auth.models import Role, User
from surveys.extensions import db as flask_db


def test_services_flush_but_leave_the_commit_to_the_caller(app, db, make_institution):
    institution = make_institution(code="TDTU")
    db.commit()
    with app.test_request_context():
        session = flask_db.session
        result = services.create_user(
            session, email="x@uni.uz", role="staff", institution_id=institution.id
        )
        assert result.user.id is not None  # flushed: the id exists inside the transaction
        services.create_institution(session, code="NEW", name="New")
        session.rollback()
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_assignments_must_pair_a_programme_with_its_institution(
    app, db, make_institution, make_programme
):
    a, b = make_institution(), make_institution()
    programme_of_b = make_programme(b)
    db.commit()
    with app.test_request_context():
        with pytest.raises(services.InputError) as error:
            services.create_user(
                flask_db.session,
                email="c@uni.uz",
                role=Role.COMMITTEE,
                assignments=[(a.id, programme_of_b.id)],
            )
        assert error.value.field == "assignments"
        result = services.create_user(
            flask_db.session,
            email="c@uni.uz",
            role=Role.COMMITTEE,
            assignments=[(b.id, programme_of_b.id), (b.id, programme_of_b.id), (a.id, None)],
        )
        assert (
            len(committee_assignments(flask_db.session, result.user.id)) == 2
        )  # the duplicate is dropped
        with pytest.raises(services.InputError, match="Only committee members"):
            services.update_user(
                flask_db.session,
                result.user.id,
                role="admin",
                institution_id=None,
                assignments=[(a.id, None)],
            )


def test_institution_code_rules(app, db):
    with app.test_request_context():
        session = flask_db.session
        institution = services.create_institution(session, code=" samdu ", name=" Samarkand ")
        assert (institution.code, institution.name) == ("SAMDU", "Samarkand")
        for code in ("", "A" * 33, "HAS SPACE", "UNI/1", "ÜNI"):
            with pytest.raises(services.InputError) as error:
                services.create_institution(session, code=code, name="X")
            assert error.value.field == "code"
        with pytest.raises(services.InputError, match="exists"):
            services.update_institution(
                session,
                services.create_institution(session, code="OTHER", name="Other").id,
                code="samdu",
                name="Other",
            )


def test_generated_passwords_are_long_and_different():
    passwords = {services.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 16 for p in passwords)
