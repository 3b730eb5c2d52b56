"""Builders of registry objects for tests: they add and flush, never commit."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from surveys.models import (
    Employer,
    EmployerLink,
    Graduate,
    Institution,
    Programme,
    ProgrammeLevel,
    Role,
    User,
)

_counter = itertools.count(1)


def make_institution(session: Session, **kw: Any) -> Institution:
    n = next(_counter)
    obj = Institution(
        code=kw.pop("code", f"INST{n}"),
        name=kw.pop("name", f"Institute {n}"),
        privacy_notice=kw.pop("privacy_notice", "Answers are used for accreditation only."),
        **kw,
    )
    session.add(obj)
    session.flush()
    return obj


def make_programme(
    session: Session, institution: Institution | None = None, **kw: Any
) -> Programme:
    n = next(_counter)
    obj = Programme(
        institution=institution or make_institution(session),
        code=kw.pop("code", f"P{n}"),
        name=kw.pop("name", f"Programme {n}"),
        level=kw.pop("level", ProgrammeLevel.BACHELOR),
        field_of_study=kw.pop("field_of_study", "Engineering"),
        **kw,
    )
    session.add(obj)
    session.flush()
    return obj


def make_graduate(session: Session, programme: Programme | None = None, **kw: Any) -> Graduate:
    n = next(_counter)
    programme = programme or make_programme(session)
    obj = Graduate(
        programme=programme,
        institution_id=programme.institution_id,
        graduation_year=kw.pop("graduation_year", 2025),
        student_number=kw.pop("student_number", f"S{n:06d}"),
        full_name=kw.pop("full_name", f"Graduate Number{n}"),
        email=kw.pop("email", None),
        **kw,
    )
    session.add(obj)
    session.flush()
    return obj


def make_employer(session: Session, institution: Institution | None = None, **kw: Any) -> Employer:
    """An enterprise's shared identity; with ``institution``, also that institution's link.

    Identity fields: ``name`` (official), ``tax_number``, ``sector``, ``region``,
    ``pseudonym``. Link fields (need ``institution``): ``link_name`` (default: the official
    name), ``contact_name``, ``contact_email``, ``notes``.
    """
    n = next(_counter)
    link_fields = {
        k: kw.pop(k) for k in ("link_name", "contact_name", "contact_email", "notes") if k in kw
    }
    if link_fields and institution is None:
        raise TypeError("contact and notes belong to an institution's link: pass institution=")
    obj = Employer(
        name=kw.pop("name", f"Enterprise {n}"),
        tax_number=kw.pop("tax_number", f"{300000000 + n}"),
        sector=kw.pop("sector", "Oil and gas"),
        region=kw.pop("region", "Qashqadaryo"),
        **kw,
    )
    session.add(obj)
    session.flush()
    if institution is not None:
        link_employer(session, institution, obj, **link_fields)
    return obj


def link_employer(
    session: Session, institution: Institution, employer: Employer, **kw: Any
) -> EmployerLink:
    """``institution``'s own record of ``employer`` (name, contact, notes)."""
    n = next(_counter)
    link = EmployerLink(
        institution=institution,
        employer=employer,
        name=kw.pop("link_name", employer.name),
        sector=kw.pop("sector", employer.sector),
        region=kw.pop("region", employer.region),
        contact_name=kw.pop("contact_name", "HR Officer"),
        contact_email=kw.pop("contact_email", f"hr{n}@enterprise.example"),
        notes=kw.pop("notes", None),
    )
    session.add(link)
    session.flush()
    return link


def make_user(
    session: Session,
    role: Role | str = Role.STAFF,
    institution: Institution | None = None,
    password: str = "correct horse battery",
    **kw: Any,
) -> User:
    from surveys.auth.passwords import hash_password

    n = next(_counter)
    role = Role(role)
    if role == Role.STAFF and institution is None:
        institution = make_institution(session)
    obj = User(
        email=kw.pop("email", f"user{n}@hamkor.example"),
        password_hash=hash_password(password),
        role=role,
        institution=institution if role == Role.STAFF else kw.pop("institution_override", None),
        **kw,
    )
    session.add(obj)
    session.flush()
    return obj


def today() -> dt.date:
    return dt.date.today()
