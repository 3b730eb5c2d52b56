"""Forms of the registry feature."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from surveys.registry.columns import IMPORT_KINDS
from surveys.web import Form

#: File name endings the upload accepts (CSV may also come as .txt from "Unicode text").
IMPORT_EXTENSIONS = ["csv", "txt", "tsv", "xlsx"]


class ImportForm(Form):
    """Kind, file and (for admins) institution of a registry import; two buttons."""

    kind = SelectField(
        _l("What the file contains"),
        choices=[SelectChoice(k.name, k.label) for k in IMPORT_KINDS.values()],
    )
    #: only admins choose; the view removes the field for staff (their own institution)
    institution = SelectField(_l("Institution"), coerce=int, choices=[])
    file = FileField(
        _l("File (CSV or Excel .xlsx)"),
        validators=[
            FileRequired(_l("Choose a file to upload.")),
            FileAllowed(IMPORT_EXTENSIONS, _l("Upload a .csv or .xlsx file.")),
        ],
    )
    check = SubmitField(_l("Check only"))
    submit = SubmitField(_l("Import"))
