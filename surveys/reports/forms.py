"""The form of the "Yearly report" page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from surveys.reports.services import FORMATS, LANGUAGE_NAMES
from surveys.web import Form


class ReportForm(Form):
    """Institution (readers of several), year, programme (optional), format and language;
    the view fills the institution's, year's and programme's choices from the reader's
    scope. Choices are checked by :func:`surveys.reports.services.check_request`, whose
    messages say what is wrong (a year without data, an institution out of scope)."""

    institution = SelectField(_l("Institution"), choices=[], validate_choice=False)
    year = SelectField(
        _l("Graduation year"),
        choices=[],
        validators=[InputRequired(_l("Choose a graduation year."))],
        validate_choice=False,
    )
    programme = SelectField(_l("Programme"), choices=[], validate_choice=False)
    format = SelectField(
        _l("Format"),
        choices=[SelectChoice(key, f.label) for key, f in FORMATS.items()],
        validators=[InputRequired(_l("Choose a format."))],
        validate_choice=False,
    )
    lang = SelectField(
        _l("Language of the report"),
        choices=[SelectChoice(k, name) for k, name in LANGUAGE_NAMES.items()],
    )
    submit = SubmitField(_l("Build the report"))
