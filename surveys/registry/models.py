"""The registry: institutions, programmes, graduates, employers and how they are linked."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.orm import Base, enum_column_type, utcnow


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


institution_employers = Table(
    "institution_employers",
    Base.metadata,
    Column("institution_id", ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True),
    Column("employer_id", ForeignKey("employers.id", ondelete="CASCADE"), primary_key=True),
    comment="Employers in an institution's registry (imported or linked by an agreement).",
)


class Institution(Base):
    """A university, institute or college."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  #: short code used in exports
    name: Mapped[str] = mapped_column(String(255))
    #: shown to employers on every survey form (who processes their answers, why, how long)
    privacy_notice: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    programmes: Mapped[list[Programme]] = relationship(
        back_populates="institution", order_by="Programme.code"
    )
    employers: Mapped[list[Employer]] = relationship(
        secondary=institution_employers, back_populates="institutions"
    )

    def __repr__(self) -> str:
        return f"<Institution {self.code}>"


class Programme(Base):
    """An educational programme of an institution."""

    __tablename__ = "programmes"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  #: unique within the institution
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[ProgrammeLevel] = mapped_column(enum_column_type(ProgrammeLevel))
    field_of_study: Mapped[str] = mapped_column(String(255))

    institution: Mapped[Institution] = relationship(back_populates="programmes")
    graduates: Mapped[list[Graduate]] = relationship(back_populates="programme")

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"


class Graduate(Base):
    """A graduate (cohort = graduation year) of a programme."""

    __tablename__ = "graduates"
    __table_args__ = (
        UniqueConstraint("institution_id", "student_number"),
        CheckConstraint("graduation_year BETWEEN 1950 AND 2100", name="graduation_year_range"),
    )

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


class Employer(Base):
    """An enterprise that employs graduates, takes interns or signs agreements."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    tax_number: Mapped[str] = mapped_column(String(32), unique=True)  #: registry / tax number
    sector: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(128))
    contact_name: Mapped[str | None] = mapped_column(String(255))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    #: random id used as ``rater_id`` in exports
    pseudonym: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: new_pseudonym("E")
    )

    institutions: Mapped[list[Institution]] = relationship(
        secondary=institution_employers, back_populates="employers"
    )
    agreements: Mapped[list[PartnershipAgreement]] = relationship(back_populates="employer")

    def __repr__(self) -> str:
        return f"<Employer {self.tax_number}>"


class PartnershipAgreement(Base):
    """A social-partnership agreement between an institution and an enterprise."""

    __tablename__ = "partnership_agreements"
    __table_args__ = (
        UniqueConstraint("institution_id", "number"),
        CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="valid_period_ordered"
        ),
    )

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


class Internship(Base):
    """A student's or graduate's internship at an enterprise, with its appointed mentor."""

    __tablename__ = "internships"
    __table_args__ = (
        UniqueConstraint("graduate_id", "employer_id", "start_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
    )

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


class EmploymentRecord(Base):
    """A graduate's employment at an enterprise."""

    __tablename__ = "employment_records"
    __table_args__ = (
        UniqueConstraint("graduate_id", "employer_id", "start_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    position: Mapped[str] = mapped_column(String(255))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]  #: empty = still employed

    graduate: Mapped[Graduate] = relationship(back_populates="employments")
    employer: Mapped[Employer] = relationship()
