"""Forms of the API tokens page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from surveys.auth.forms import strip_filter


class NewTokenForm(FlaskForm):
    """A name for the new token and how long it lives."""

    name = StringField(
        _l("What is the token for?"),
        description=_l("A name you will recognise in the list, e.g. “R script on my laptop”."),
        filters=[strip_filter],
        validators=[
            DataRequired(_l("Say what the token is for.")),
            Length(max=100, message=_l("At most 100 characters.")),
        ],
    )
    lifetime = SelectField(
        _l("Valid for"),
        choices=[
            SelectChoice("90", _l("90 days")),
            SelectChoice("30", _l("30 days")),
            SelectChoice("365", _l("one year")),
            SelectChoice("never", _l("until I revoke it")),
        ],
        default="90",
    )

    def lifetime_days(self) -> int | None:
        return None if self.lifetime.data == "never" else int(self.lifetime.data)


class RevokeTokenForm(FlaskForm):
    """The revoke button (a CSRF token only)."""
