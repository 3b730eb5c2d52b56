"""Indicator settings (versioned per institution) and the stored indicator records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.orm import Base, utcnow


class IndicatorSettings(Base):
    """One version of an institution's indicator settings. Rows are only ever added: a change
    is a new version, and the newest version is the one in force."""

    __tablename__ = "indicator_settings"
    __table_args__ = (
        UniqueConstraint("institution_id", "version"),
        CheckConstraint("min_n >= 5", name="min_n_privacy_floor"),
        CheckConstraint("low_n >= min_n", name="low_n_at_least_min_n"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    version: Mapped[int]  #: 1, 2, … per institution (0 means the defaults, never stored)
    confidence_level: Mapped[float]  #: 0.95 or 0.90
    min_n: Mapped[int]  #: fewer responses or graduates: the value is hidden ("< 5")
    low_n: Mapped[int]  #: fewer: "interpret with caution" and three-year pooled records
    fpc: Mapped[bool] = mapped_column(default=False)  #: finite-population correction
    #: target per indicator (``overall_satisfied``) or indicator and domain
    #: (``domain_score:safety_culture``); shares as fractions
    targets: Mapped[dict[str, float]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: who saved this version (readable: an e-mail or ``cli``)
    created_by: Mapped[str] = mapped_column(String(320))


class IndicatorComputation(Base):
    """The records of one institution computed for one (settings, data) version and day.

    Unique per key, so two workers computing the same version at once store it once.
    """

    __tablename__ = "indicator_computations"
    __table_args__ = (
        UniqueConstraint("institution_id", "settings_version", "data_version", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    settings_version: Mapped[int]
    data_version: Mapped[int]
    #: outcomes are as of this day (retention needs 12 months to have passed)
    as_of: Mapped[dt.date]
    institution_code: Mapped[str] = mapped_column(String(32))  #: the records' ``institution``
    confidence_level: Mapped[float]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    seconds: Mapped[float]  #: how long building the inputs and computing took
    record_count: Mapped[int]

    records: Mapped[list[IndicatorRecord]] = relationship(
        back_populates="computation", order_by="IndicatorRecord.position"
    )


class IndicatorRecord(Base):
    """One :class:`analysis.Indicator` record as computed, unrounded (see its fields)."""

    __tablename__ = "indicator_records"
    __table_args__ = (Index("ix_indicator_records_lookup", "computation_id", "year", "programme"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    computation_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_computations.id", ondelete="CASCADE")
    )
    position: Mapped[int]  #: the record's place in ``compute_indicators``' order
    programme: Mapped[str] = mapped_column(String(32))  #: ``*`` = the whole institution
    year: Mapped[int]
    instrument: Mapped[str | None] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str | None] = mapped_column(String(64))
    n: Mapped[int | None]
    estimate: Mapped[float | None]
    ci_low: Mapped[float | None]
    ci_high: Mapped[float | None]
    method: Mapped[str | None] = mapped_column(String(32))
    flags: Mapped[str] = mapped_column(String(128), default="")  #: comma-separated
    suppressed: Mapped[bool] = mapped_column(default=False)
    target: Mapped[float | None]
    target_status: Mapped[str | None] = mapped_column(String(16))
    p_value: Mapped[float | None]
    p_adjusted: Mapped[float | None]
    effect_size: Mapped[float | None]

    computation: Mapped[IndicatorComputation] = relationship(back_populates="records")

    def fields(self) -> dict[str, Any]:
        """The analysis fields of this row (without institution and confidence level)."""
        return {
            "programme": self.programme,
            "year": self.year,
            "instrument": self.instrument,
            "indicator": self.indicator,
            "domain": self.domain,
            "n": self.n,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
            "flags": tuple(f for f in self.flags.split(",") if f),
            "suppressed": self.suppressed,
            "target": self.target,
            "target_status": self.target_status,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "effect_size": self.effect_size,
        }
