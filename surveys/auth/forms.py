"""Forms of the auth feature: login and one's own password; the role names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from surveys.auth.models import Role
from surveys.auth.passwords import MIN_PASSWORD_LENGTH
from surveys.web import Form

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.STAFF: _l("Institution staff"),
    Role.COMMITTEE: _l("Accreditation committee member"),
}


def strip_filter(value: str | None) -> str | None:
    """A WTForms filter: surrounding white space removed from text."""
    return value.strip() if isinstance(value, str) else value


EMAIL_VALIDATOR = Email(message=_l("Enter an e-mail address such as name@institution.uz."))


def role_choices(blank: str | None = None) -> list[SelectChoice]:
    """The roles as select options (with an optional first "any" option)."""
    choices = [SelectChoice("", blank)] if blank is not None else []
    return choices + [SelectChoice(role.value, str(ROLE_LABELS[role])) for role in Role]


class LoginForm(Form):
    """E-mail and password."""

    email = EmailField(
        _l("E-mail"),
        filters=[strip_filter],
        validators=[DataRequired(), EMAIL_VALIDATOR, Length(max=320)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class ChangePasswordForm(Form):
    """The current password, and the new one twice."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=_l(
                    "The password must have at least %(n)d characters (and at most 1024).",
                    n=MIN_PASSWORD_LENGTH,
                ),
            ),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )
