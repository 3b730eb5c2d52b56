"""The audit log's filter form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SearchField, SelectField
from wtforms.validators import Length, Optional, ValidationError

from surveys.auth.forms import strip_filter
from surveys.web import Form


class AuditFilterForm(Form):
    """Filter of the audit log (GET, no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validators=[Optional()])
    actor = SearchField(
        _l("Who"),
        description=_l("Part of an e-mail address, or “cli” for the command line."),
        filters=[strip_filter],
        validators=[Optional(), Length(max=320)],
    )
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
