"""Each institution's indicator settings: versioned, validated, audited.

A change never edits a row: it adds version N + 1, so every stored computation names the
exact settings it used and the history stays readable. An institution that never saved
settings uses the defaults of ``indicators.md`` (version 0).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analysis.indicators import DEFAULT_TARGETS, PROPORTIONS
from surveys.audit.services import record_event
from surveys.indicators.models import IndicatorSettings

#: Confidence levels an institution can choose (national graduate surveys use 0.90).
CONFIDENCE_LEVELS = (0.95, 0.90)
#: Nobody may show a value over fewer answers than this, whatever the settings.
PRIVACY_FLOOR = 5
MAX_MIN_N = 100
MAX_LOW_N = 1000
DEFAULT_MIN_N = 5
DEFAULT_LOW_N = 25
#: Indicators that can have a target, with the range of a target (shares as fractions).
#: Reliabilities, counts and months to employment have none: "met" means "at least".
TARGET_RANGES: dict[str, tuple[float, float]] = {
    "overall_satisfied": (0.0, 1.0),
    "nps": (-100.0, 100.0),
    "domain_score": (0.0, 100.0),
    "domain_satisfied": (0.0, 1.0),
    "response_rate": (0.0, 1.0),
    "employment_rate": (0.0, 1.0),
    "retention_12m": (0.0, 1.0),
    "partner_employment": (0.0, 1.0),
}
_DOMAIN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class SettingsError(ValueError):
    """A setting is not acceptable; ``field`` names it and the message says what is expected."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class SettingsConflict(SettingsError):
    """Someone saved newer settings since the form was opened."""


@dataclass(frozen=True)
class Settings:
    """The settings in force (``version`` 0: the defaults, never saved)."""

    version: int = 0
    confidence_level: float = 0.95
    min_n: int = DEFAULT_MIN_N
    low_n: int = DEFAULT_LOW_N
    fpc: bool = False
    targets: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    created_at: dt.datetime | None = None
    created_by: str | None = None

    def compute_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`analysis.compute_indicators` for these settings."""
        return {
            "confidence_level": self.confidence_level,
            "min_n": self.min_n,
            "low_n": self.low_n,
            "fpc": self.fpc,
            "targets": dict(self.targets),
        }

    def command_line(self) -> list[str]:
        """The ``hamkor indicators --input …`` options that reproduce these settings."""
        args = ["--confidence", f"{self.confidence_level:g}", "--min-n", str(self.min_n)]
        args += ["--low-n", str(self.low_n)]
        for name in DEFAULT_TARGETS:
            if name not in self.targets:
                args += ["--target", f"{name}=none"]
        for name, value in sorted(self.targets.items()):
            if DEFAULT_TARGETS.get(name) != value:
                args += ["--target", f"{name}={value:g}"]
        if self.fpc:
            args.append("--fpc")
        return args

    def values(self) -> dict[str, Any]:
        """The settings' values (what a new version is compared on)."""
        return {
            "confidence_level": self.confidence_level,
            "min_n": self.min_n,
            "low_n": self.low_n,
            "fpc": self.fpc,
            "targets": dict(sorted(self.targets.items())),
        }


def _from_row(row: IndicatorSettings) -> Settings:
    return Settings(
        version=row.version,
        confidence_level=row.confidence_level,
        min_n=row.min_n,
        low_n=row.low_n,
        fpc=row.fpc,
        targets=dict(row.targets),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def current_settings(session: Session, institution_id: int) -> Settings:
    """The settings in force for ``institution_id`` (the defaults until some are saved)."""
    row = session.scalars(
        select(IndicatorSettings)
        .where(IndicatorSettings.institution_id == institution_id)
        .order_by(IndicatorSettings.version.desc())
        .limit(1)
    ).first()
    return Settings() if row is None else _from_row(row)


def settings_history(session: Session, institution_id: int) -> list[Settings]:
    """Every saved version, newest first."""
    rows = session.scalars(
        select(IndicatorSettings)
        .where(IndicatorSettings.institution_id == institution_id)
        .order_by(IndicatorSettings.version.desc())
    )
    return [_from_row(row) for row in rows]


def _integer(value: Any, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SettingsError(field, message)
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(field, message) from None
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise SettingsError(field, message)
    return int(number)


def validate_targets(targets: Mapping[str, Any]) -> dict[str, float]:
    """Targets keyed ``indicator`` or ``indicator:domain``, each within its indicator's range."""
    clean: dict[str, float] = {}
    for key, value in targets.items():
        name, _sep, domain = str(key).partition(":")
        if name not in TARGET_RANGES:
            raise SettingsError(
                f"target:{key}",
                _(
                    "No target can be set for %(name)s; targets exist for %(names)s.",
                    name=name,
                    names=", ".join(TARGET_RANGES),
                ),
            )
        if _sep and not (_DOMAIN.match(domain) and name.startswith("domain_")):
            raise SettingsError(
                f"target:{key}",
                _("A domain target is written domain_score:KEY with the domain's key."),
            )
        low, high = TARGET_RANGES[name]
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or not low <= number <= high:
            shown = ("0%", "100%") if name in PROPORTIONS else (f"{low:g}", f"{high:g}")
            raise SettingsError(
                f"target:{key}",
                _("A target between %(low)s and %(high)s.", low=shown[0], high=shown[1]),
            )
        clean[str(key)] = number
    return dict(sorted(clean.items()))


def validate_settings(
    *,
    confidence_level: Any,
    min_n: Any,
    low_n: Any,
    fpc: Any,
    targets: Mapping[str, Any],
) -> dict[str, Any]:
    """The settings as clean values, or :class:`SettingsError` naming the first bad field."""
    try:
        level = float(confidence_level)
    except (TypeError, ValueError):
        level = math.nan
    match = next((c for c in CONFIDENCE_LEVELS if abs(c - level) < 1e-9), None)
    if match is None:
        raise SettingsError(
            "confidence_level",
            _("The confidence level must be %(one)s or %(other)s.", one="95%", other="90%"),
        )
    clean_min = _integer(
        min_n,
        "min_n",
        PRIVACY_FLOOR,
        MAX_MIN_N,
        _(
            "A whole number from %(floor)d to %(max)d: fewer than %(floor)d answers could "
            "identify a graduate or an employer.",
            floor=PRIVACY_FLOOR,
            max=MAX_MIN_N,
        ),
    )
    clean_low = _integer(
        low_n,
        "low_n",
        clean_min,
        MAX_LOW_N,
        _(
            "A whole number from the smallest group shown (%(min)d) to %(max)d.",
            min=clean_min,
            max=MAX_LOW_N,
        ),
    )
    if not isinstance(fpc, bool):
        raise SettingsError("fpc", _("Yes or no."))
    return {
        "confidence_level": match,
        "min_n": clean_min,
        "low_n": clean_low,
        "fpc": fpc,
        "targets": validate_targets(targets),
    }


def _actor() -> str:
    user = g.get("user") if has_request_context() else None
    return user.email if user is not None else "cli"


def update_settings(
    session: Session,
    institution_id: int,
    *,
    confidence_level: Any,
    min_n: Any,
    low_n: Any,
    fpc: Any,
    targets: Mapping[str, Any],
    expected_version: int | None = None,
) -> Settings:
    """Save new settings for ``institution_id`` as the next version, audited.

    Saving the settings in force changes nothing (no version, no audit event).
    ``expected_version`` is the version the editor started from: when someone saved a newer
    one meanwhile, :class:`SettingsConflict` says so instead of silently undoing their change.
    """
    clean = validate_settings(
        confidence_level=confidence_level, min_n=min_n, low_n=low_n, fpc=fpc, targets=targets
    )
    current = current_settings(session, institution_id)
    if expected_version is not None and expected_version != current.version:
        raise SettingsConflict(
            "version",
            _(
                "Someone saved these settings meanwhile (version %(version)d). Check the values "
                "shown now and save again.",
                version=current.version,
            ),
        )
    before = current.values()
    if clean == before:
        return current
    row = IndicatorSettings(
        institution_id=institution_id,
        version=current.version + 1,
        created_by=_actor(),
        **clean,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise SettingsConflict(
            "version",
            _("Someone saved these settings at the same moment. Check them and save again."),
        ) from None
    changes = {k: [before[k], clean[k]] for k in clean if before[k] != clean[k]}
    record_event(
        session,
        "indicators.settings_changed",
        obj=row,
        institution_id=institution_id,
        details={"version": row.version, "changes": changes},
    )
    session.flush()
    return _from_row(row)
