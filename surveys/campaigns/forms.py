"""The staff's campaign forms (all on :class:`surveys.web.Form`: CSRF, text for text)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FileField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from surveys.campaigns.services import PLACEHOLDERS, placeholder_problem
from surveys.web import Form

LANGUAGE_CHOICES = [
    SelectChoice("uz", "Oʻzbekcha"),
    SelectChoice("ru", "Русский"),
    SelectChoice("en", "English"),
]


def choices(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as the select fields' choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def parse_days(raw: str | None) -> list[int] | None:
    """``"7, 14"`` → ``[7, 14]``; None when it is not a list of whole numbers."""
    parts = [p for p in re.split(r"[,;\s]+", raw or "") if p]
    if not all(re.fullmatch(r"[0-9]{1,3}", p) for p in parts):
        return None
    return [int(p) for p in parts]


def _check_placeholders(text: str | None) -> None:
    """An invitation text's placeholders, checked with the other fields (the service checks
    them again, in the words of the command line)."""
    problem = placeholder_problem(text) if text and text.strip() else None
    if problem is None:
        return
    kind, name = problem
    if kind == "brace":
        raise ValidationError(
            _l("A brace without its pair: write placeholders as {link}, and a brace as {{ or }}.")
        )
    if kind == "unknown":
        raise ValidationError(
            _l(
                "Unknown placeholder {%(name)s}: use %(known)s.",
                name=name,
                known=", ".join("{" + p + "}" for p in PLACEHOLDERS),
            )
        )
    raise ValidationError(_l("The text must contain {link}, the employer's personal link."))


class CampaignForm(Form):
    """A campaign's settings: what is asked, of whom, when, and in which words."""

    name = StringField(_l("Name"), filters=[_strip], validators=[Optional(), Length(max=255)])
    instrument_version = SelectField(
        _l("Instrument version"), coerce=int, validators=[InputRequired()]
    )
    programmes = SelectMultipleField(_l("Programmes"), coerce=int, validators=[DataRequired()])
    year = IntegerField(
        _l("Graduation year"), validators=[InputRequired(), NumberRange(1950, 2100)]
    )
    opens_on = DateField(_l("Opens on"), validators=[InputRequired()])
    closes_on = DateField(_l("Closes on"), validators=[InputRequired()])
    language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES)
    reminder_days = StringField(
        _l("Reminders (days after the invitation)"),
        filters=[_strip],
        validators=[Length(max=64)],
        description=_l("For example: 7, 14. Leave empty for no reminders."),
    )
    contact_email = StringField(
        _l("Contact e-mail for employers"), filters=[_strip], validators=[Length(max=320)]
    )
    text_uz = TextAreaField(_l("Invitation text (Uzbek)"), validators=[Length(max=5000)])
    text_ru = TextAreaField(_l("Invitation text (Russian)"), validators=[Length(max=5000)])
    text_en = TextAreaField(_l("Invitation text (English)"), validators=[Length(max=5000)])

    def validate_closes_on(self, field) -> None:
        if self.opens_on.data and field.data and field.data < self.opens_on.data:
            raise ValidationError(_l("The closing date is before the opening date."))

    def validate_text_uz(self, field) -> None:
        _check_placeholders(field.data)

    def validate_text_ru(self, field) -> None:
        _check_placeholders(field.data)

    def validate_text_en(self, field) -> None:
        _check_placeholders(field.data)

    def validate_reminder_days(self, field) -> None:
        if parse_days(field.data) is None:
            raise ValidationError(_l("Write whole numbers of days, separated by commas."))


class PairForm(Form):
    """One (graduate, employer) pair added by hand."""

    graduate = SelectField(_l("Graduate"), coerce=int, validators=[InputRequired()])
    employer = SelectField(_l("Employer"), coerce=int, validators=[InputRequired()])


class UploadForm(Form):
    """A CSV/XLSX file of extra pairs (student_number, tax_number)."""

    file = FileField(_l("CSV or XLSX file"))


class ButtonForm(Form):
    """A button that posts (CSRF only)."""
