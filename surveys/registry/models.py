"""The registry: institutions, programmes, graduates, employers and how they are linked.

An enterprise is one real thing that works with many institutions. Its shared identity —
tax number, official name, sector, region, and the pseudonym that stands for it in every
export — is an :class:`Employer`, changed only by an administrator. What one institution
types about it (the name it uses, sector and region as it records them, its contact person
and e-mail, notes) is that institution's :class:`EmployerLink`: no other institution reads or
changes it, and an institution's pages, imports and invitations only ever use its own link.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.orm import Base, enum_column_type, utcnow
from surveys.search import Searchable


def new_pseudonym(prefix: str) -> str:
    """A random pseudonymous id (64 bits) used instead of names in every export."""
    return f"{prefix}-{secrets.token_hex(8)}"


class ProgrammeLevel(enum.StrEnum):
    """Level of an educational programme."""

    VOCATIONAL = "vocational"  #: secondary specialised / vocational (technikum, college)
    BACHELOR = "bachelor"
    MASTER = "master"
    DOCTORAL = "doctoral"


class EmploymentStatus(enum.StrEnum):
    """A graduate's employment status as the institution recorded it (e.g. from a national
    graduate survey). The absence of an employment record alone never means "not employed"."""

    EMPLOYED = "employed"  #: working (also known from any employment record)
    NOT_EMPLOYED = "not_employed"  #: available for work but not working
    FURTHER_STUDY = "further_study"  #: studying full-time (master's, doctorate): not counted


class AgreementKind(enum.StrEnum):
    """Kinds of partnership agreement between an institution and an enterprise (seed paper)."""

    JOINT_ACTIVITY = "joint_activity"  #: agreement on joint activity
    PRODUCTION_PRACTICE = "production_practice"  #: contract on production training and practice
    TARGETED_TRAINING = "targeted_training"  #: targeted training of students for the enterprise
    EMPLOYEE_TRAINING = "employee_training"  #: training of the enterprise's employees
    JOINT_RESEARCH = "joint_research"
    INTERNSHIP = "internship"  #: internships with a mentor appointed by the enterprise
    EMPLOYMENT = "employment"  #: employment of graduates
    ATTESTATION_COMMISSION = "attestation_commission"  #: seats on attestation/accreditation boards


class Institution(Base):
    """A university, institute or college."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  #: short code used in exports
    name: Mapped[str] = mapped_column(String(255))  #: the default name (any language)
    #: the name in other languages, by language code (``{"ru": "…", "en": "…"}``)
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    #: shown to employers on every survey form (who processes their answers, why, how long)
    privacy_notice: Mapped[str | None] = mapped_column(Text)
    #: the privacy notice in other languages, by language code
    privacy_notices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    programmes: Mapped[list[Programme]] = relationship(
        back_populates="institution", order_by="Programme.code"
    )
    employer_links: Mapped[list[EmployerLink]] = relationship(back_populates="institution")

    def name_in(self, language: str | None) -> str:
        """The name in ``language``, or the default name when there is none in it."""
        return (self.names or {}).get(language or "") or self.name

    def privacy_notice_in(self, language: str | None) -> str | None:
        """The privacy notice in ``language``, or the default one (None: none written)."""
        return (self.privacy_notices or {}).get(language or "") or self.privacy_notice

    def __repr__(self) -> str:
        return f"<Institution {self.code}>"


class Programme(Searchable, Base):
    """An educational programme of an institution."""

    __tablename__ = "programmes"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)
    __search_fields__ = ("code", "name", "names", "field_of_study")

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  #: unique within the institution
    name: Mapped[str] = mapped_column(String(255))  #: the default name (any language)
    #: the name in other languages, by language code (``{"ru": "…", "en": "…"}``)
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    level: Mapped[ProgrammeLevel] = mapped_column(enum_column_type(ProgrammeLevel))
    field_of_study: Mapped[str] = mapped_column(String(255))

    institution: Mapped[Institution] = relationship(back_populates="programmes")
    graduates: Mapped[list[Graduate]] = relationship(back_populates="programme")

    def name_in(self, language: str | None) -> str:
        """The name in ``language``, or the default name when there is none in it."""
        return (self.names or {}).get(language or "") or self.name

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"


class Graduate(Searchable, Base):
    """A graduate (cohort = graduation year) of a programme."""

    __tablename__ = "graduates"
    __table_args__ = (
        UniqueConstraint("institution_id", "student_number"),
        CheckConstraint("graduation_year BETWEEN 1950 AND 2100", name="graduation_year_range"),
    )
    __search_fields__ = ("full_name", "student_number", "email")

    id: Mapped[int] = mapped_column(primary_key=True)
    #: kept beside the programme so that student numbers are unique per institution
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    graduation_year: Mapped[int] = mapped_column(index=True)
    student_number: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    #: random id used in exports and ratings instead of the name or student number
    pseudonym: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: new_pseudonym("G")
    )
    #: recorded status (graduates import); empty = unknown unless an employment record exists
    employment_status: Mapped[EmploymentStatus | None] = mapped_column(
        enum_column_type(EmploymentStatus)
    )

    programme: Mapped[Programme] = relationship(back_populates="graduates")
    employments: Mapped[list[EmploymentRecord]] = relationship(back_populates="graduate")

    def __repr__(self) -> str:
        return f"<Graduate {self.student_number}>"


class Employer(Searchable, Base):
    """An enterprise's shared identity: one row per tax number, whoever works with it.

    Imports create it (from the first institution's file) but never change it: only an
    administrator does (audited). Institutions never read it: they see their own
    :class:`EmployerLink`.
    """

    __tablename__ = "employers"
    __search_fields__ = ("tax_number", "name", "sector", "region")

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_number: Mapped[str] = mapped_column(String(32), unique=True)  #: registry / tax number
    name: Mapped[str] = mapped_column(String(255))  #: official name
    sector: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(128))
    #: random id used as ``rater_id`` in exports (one enterprise, one rater, everywhere)
    pseudonym: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: new_pseudonym("E")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    links: Mapped[list[EmployerLink]] = relationship(back_populates="employer")
    agreements: Mapped[list[PartnershipAgreement]] = relationship(back_populates="employer")

    def __repr__(self) -> str:
        return f"<Employer {self.tax_number}>"


class EmployerLink(Searchable, Base):
    """One institution's own record of an enterprise it works with.

    Everything the institution types about the enterprise lives here, and only it reads or
    changes it: the name it uses, sector and region as it records them, its contact person
    and e-mail (where its invitations go), notes. Agreements, employment records and
    internships of the institution may only name enterprises it has a link to.
    """

    __tablename__ = "employer_links"
    __table_args__ = (UniqueConstraint("institution_id", "employer_id"),)
    __search_fields__ = ("name", "sector", "region", "contact_name", "contact_email", "notes")

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    employer_id: Mapped[int] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))  #: the name this institution uses
    sector: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(128))
    contact_name: Mapped[str | None] = mapped_column(String(255))  #: this institution's contact
    contact_email: Mapped[str | None] = mapped_column(String(320))  #: where invitations go
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    institution: Mapped[Institution] = relationship(back_populates="employer_links")
    employer: Mapped[Employer] = relationship(back_populates="links")

    def __repr__(self) -> str:
        return f"<EmployerLink {self.institution_id}/{self.employer_id}>"


class PartnershipAgreement(Searchable, Base):
    """A social-partnership agreement between an institution and an enterprise."""

    __tablename__ = "partnership_agreements"
    __table_args__ = (
        UniqueConstraint("institution_id", "number"),
        CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="valid_period_ordered"
        ),
    )
    __search_fields__ = ("number",)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_column_type(AgreementKind))
    number: Mapped[str] = mapped_column(String(64))  #: unique per institution
    signed_on: Mapped[dt.date]
    valid_from: Mapped[dt.date]
    valid_until: Mapped[dt.date | None]  #: empty = open-ended

    institution: Mapped[Institution] = relationship()
    employer: Mapped[Employer] = relationship(back_populates="agreements")


class Internship(Searchable, Base):
    """A student's or graduate's internship at an enterprise, with its appointed mentor."""

    __tablename__ = "internships"
    __table_args__ = (
        UniqueConstraint("graduate_id", "employer_id", "start_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
    )
    __search_fields__ = ("mentor_name",)

    id: Mapped[int] = mapped_column(primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("partnership_agreements.id"))
    mentor_name: Mapped[str | None] = mapped_column(String(255))  #: mentor at the enterprise
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]

    graduate: Mapped[Graduate] = relationship()
    employer: Mapped[Employer] = relationship()
    agreement: Mapped[PartnershipAgreement | None] = relationship()


class EmploymentRecord(Searchable, Base):
    """A graduate's employment at an enterprise."""

    __tablename__ = "employment_records"
    __table_args__ = (
        UniqueConstraint("graduate_id", "employer_id", "start_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
    )
    __search_fields__ = ("position",)

    id: Mapped[int] = mapped_column(primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    position: Mapped[str] = mapped_column(String(255))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]  #: empty = still employed

    graduate: Mapped[Graduate] = relationship(back_populates="employments")
    employer: Mapped[Employer] = relationship()
