"""Forms of user and institution administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    PasswordField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from surveys.auth.forms import EMAIL_VALIDATOR, role_choices, strip_filter
from surveys.auth.passwords import MIN_PASSWORD_LENGTH
from surveys.i18n import LANGUAGE_NAMES
from surveys.web import Form


class _OptionalPassword:
    """Empty, or at least MIN_PASSWORD_LENGTH characters (empty = generate one)."""

    def __call__(self, form, field):
        if field.data and len(field.data) < MIN_PASSWORD_LENGTH:
            raise ValidationError(
                _l(
                    "The password must have at least %(n)d characters, or leave it empty.",
                    n=MIN_PASSWORD_LENGTH,
                )
            )


class UserForm(Form):
    """Role, institution (staff) and committee assignments of a user."""

    role = SelectField(_l("Role"), validators=[DataRequired()])
    institution = SelectField(
        _l("Institution"),
        description=_l("Required for institution staff; leave empty for other roles."),
        validators=[Optional()],
    )
    assignments = SelectMultipleField(
        _l("Committee assignments"),
        description=_l(
            "Committee members only: the institutions (all their programmes) or single "
            "programmes whose statistics they may read. Hold Ctrl (⌘ on a Mac) to pick several."
        ),
        validators=[Optional()],
    )

    def fill_choices(
        self, institution_choices: list[SelectChoice], assignment_choices: list[SelectChoice]
    ) -> None:
        """Set the options from the database (called before validation)."""
        self.role.choices = role_choices()
        self.institution.choices = [SelectChoice("", str(_l("— none —"))), *institution_choices]
        self.assignments.choices = assignment_choices


class NewUserForm(UserForm):
    """A new user: e-mail, role, scope and an optional password."""

    email = EmailField(
        _l("E-mail"),
        filters=[strip_filter],
        validators=[DataRequired(), EMAIL_VALIDATOR, Length(max=320)],
    )
    password = PasswordField(
        _l("Password"),
        description=_l(
            "Leave empty to generate a one-time password, shown once after saving. "
            "Otherwise at least %(n)d characters.",
            n=MIN_PASSWORD_LENGTH,
        ),
        validators=[Optional(), Length(max=1024), _OptionalPassword()],
    )


class SetPasswordForm(Form):
    """An administrator's password reset: a chosen password, or empty to generate one."""

    password = PasswordField(
        _l("New password"),
        description=_l(
            "Leave empty to generate a one-time password, shown once. Otherwise at least "
            "%(n)d characters.",
            n=MIN_PASSWORD_LENGTH,
        ),
        validators=[Optional(), Length(max=1024), _OptionalPassword()],
    )


class ConfirmForm(Form):
    """A button that changes state (deactivate, reactivate): only the CSRF token."""


class InstitutionForm(Form):
    """Code, name and the privacy notice shown to employers; both also per language.

    ``name_<language>`` and ``privacy_notice_<language>`` fields (one per language of
    ``LANGUAGE_NAMES``) are added below the class: an empty one means "use the default".
    """

    code = StringField(
        _l("Code"),
        filters=[strip_filter],
        description=_l("Short code used in exports and file names, e.g. TDTU."),
        validators=[DataRequired(), Length(max=32)],
    )
    name = StringField(
        _l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=255)]
    )
    privacy_notice = TextAreaField(
        _l("Privacy notice for employers"),
        description=_l(
            "Shown on every survey form: who processes the answers, why, and for how long."
        ),
        validators=[Optional(), Length(max=20000)],
    )

    def fill_languages(self, institution) -> None:
        """Show an institution's names and notices per language in their fields."""
        for language in LANGUAGE_NAMES:
            getattr(self, f"name_{language}").data = (institution.names or {}).get(language)
            getattr(self, f"privacy_notice_{language}").data = (
                institution.privacy_notices or {}
            ).get(language)

    def languages(self) -> dict[str, dict[str, str | None]]:
        """The per-language fields as the service takes them (``names``, ``privacy_notices``)."""
        return {
            "names": {lang: getattr(self, f"name_{lang}").data for lang in LANGUAGE_NAMES},
            "privacy_notices": {
                lang: getattr(self, f"privacy_notice_{lang}").data for lang in LANGUAGE_NAMES
            },
        }


for _language, _label in LANGUAGE_NAMES.items():
    setattr(
        InstitutionForm,
        f"name_{_language}",
        StringField(
            _l("Name (%(language)s)", language=_label),
            filters=[strip_filter],
            validators=[Optional(), Length(max=255)],
        ),
    )
    setattr(
        InstitutionForm,
        f"privacy_notice_{_language}",
        TextAreaField(
            _l("Privacy notice (%(language)s)", language=_label),
            validators=[Optional(), Length(max=20000)],
        ),
    )


class EnterpriseForm(Form):
    """An enterprise's shared identity, as an administrator corrects it."""

    tax_number = StringField(
        _l("Tax number"),
        filters=[strip_filter],
        description=_l("5 to 20 digits; the enterprise's key in every institution's imports."),
        validators=[DataRequired(), Length(max=32)],
    )
    name = StringField(
        _l("Official name"), filters=[strip_filter], validators=[DataRequired(), Length(max=255)]
    )
    sector = StringField(
        _l("Sector"), filters=[strip_filter], validators=[Optional(), Length(max=128)]
    )
    region = StringField(
        _l("Region"), filters=[strip_filter], validators=[Optional(), Length(max=128)]
    )


class UserSearchForm(Form):
    """Search and filter of the user list (GET, no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search e-mail"), validators=[Optional(), Length(max=320)])
    role = SelectField(_l("Role"), validators=[Optional()])
