"""The indicator settings form: numbers as people type them (``80`` or ``80,5`` per cent)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from analysis.indicators import PROPORTIONS
from analysis.presentation import INDICATOR_NAMES
from surveys.indicators.settings import TARGET_RANGES, Settings


def parse_number(text: str | None) -> float | None:
    """``80``, ``80.5``, ``80,5`` or ``80 %`` as a number; None when empty.

    Raises ValueError when the text is not a number.
    """
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "").removesuffix("%")
    if not cleaned:
        return None
    number = float(cleaned.replace(",", "."))
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


class _Number:
    """A number (decimal point or comma), or empty when ``optional``."""

    def __init__(self, *, optional: bool, whole: bool = False):
        self.optional = optional
        self.whole = whole

    def __call__(self, form: Any, field: Any) -> None:
        try:
            number = parse_number(field.data)
        except ValueError:
            raise ValidationError(_l("Please enter a number, e.g. 80 or 80,5.")) from None
        if number is None and not self.optional:
            raise ValidationError(_l("Please enter a number."))
        if number is not None and self.whole and number != int(number):
            raise ValidationError(_l("Please enter a whole number."))


#: The order and unit of the target fields: shares are typed as percentages.
TARGET_FIELDS = tuple(TARGET_RANGES)


def target_unit(indicator: str) -> str:
    """``%`` for shares, ``points`` otherwise (shown beside the field)."""
    return "%" if indicator in PROPORTIONS else ""


class SettingsForm(FlaskForm):
    """Confidence level, small-number thresholds, finite-population correction, targets."""

    version = HiddenField()
    confidence_level = RadioField(
        _l("Confidence level of the intervals"),
        choices=[
            SelectChoice("0.95", _l("95% (the usual level)")),
            SelectChoice(
                "0.9", _l("90% (used by several national graduate surveys; shorter intervals)")
            ),
        ],
    )
    min_n = StringField(
        _l("Hide values over fewer answers than"),
        description=_l(
            "Smallest number of responses (or graduates) whose value is shown; below it the "
            "page says “< 5”. At least 5, so that nobody can be recognised."
        ),
        validators=[_Number(optional=False, whole=True)],
    )
    low_n = StringField(
        _l("Flag “interpret with caution” below"),
        description=_l(
            "Values over fewer responses are flagged, and a three-year pooled value is added "
            "for small programmes."
        ),
        validators=[_Number(optional=False, whole=True)],
    )
    fpc = BooleanField(
        _l("Finite-population correction"),
        description=_l(
            "Shorten the intervals when a large share of the invited employers answered. "
            "Leave it off unless your methodology asks for it."
        ),
    )

    def fill(self, settings: Settings) -> None:
        """Show the settings in force (on GET)."""
        self.version.data = str(settings.version)
        self.confidence_level.data = f"{settings.confidence_level:g}"
        self.min_n.data = str(settings.min_n)
        self.low_n.data = str(settings.low_n)
        self.fpc.data = settings.fpc
        for name in TARGET_FIELDS:
            value = settings.targets.get(name)
            if value is not None and name in PROPORTIONS:
                value = 100 * value  # shares are typed as percentages
            getattr(self, f"target_{name}").data = "" if value is None else f"{value:g}"

    def values(self) -> dict[str, Any]:
        """The validated form as the service's arguments (shares back to fractions)."""
        targets: dict[str, float] = {}
        for name in TARGET_FIELDS:
            number = parse_number(getattr(self, f"target_{name}").data)
            if number is not None:
                targets[name] = number / 100 if name in PROPORTIONS else number
        return {
            "confidence_level": float(self.confidence_level.data),
            "min_n": int(parse_number(self.min_n.data) or 0),
            "low_n": int(parse_number(self.low_n.data) or 0),
            "fpc": bool(self.fpc.data),
            "targets": targets,
        }

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

    def target_fields(self) -> list[tuple[str, Any, str]]:
        """(indicator, field, unit) of every target field, in order."""
        return [(n, getattr(self, f"target_{n}"), target_unit(n)) for n in TARGET_FIELDS]


for _name in TARGET_FIELDS:
    setattr(
        SettingsForm,
        f"target_{_name}",
        StringField(
            INDICATOR_NAMES[_name]["en"],  # replaced by the page's language in the template
            validators=[_Number(optional=True)],
        ),
    )
