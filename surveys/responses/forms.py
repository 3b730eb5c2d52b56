"""WTForms fields built from an instrument version's definition, one section at a time.

No instrument has hand-written HTML: :func:`section_form` turns the items of a section into
WTForms fields named by the item keys, with the scale points (and "cannot judge") as choices
in the page's language. The fields validate the *shape* of each value (a point of the scale,
an option of the item, a length limit, a real date); whether a required item was answered is
decided on final submit by :func:`surveys.responses.services.missing_required`, so a draft
can be saved half-filled.

A :class:`wtforms.form.BaseForm` holds the fields, so item keys such as ``data`` or
``errors`` cannot collide with form attributes. CSRF is checked for every POST by
Flask-WTF's ``CSRFProtect``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import fields, validators, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.form import BaseForm

from surveys.instruments.definitions import NUMERIC_TYPES, item_map, text

#: The value of the "cannot judge / not applicable" choice of a scale item.
NOT_APPLICABLE = "na"
#: Longest accepted answers (characters); longer text gets a message, never a cut.
SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 5000
#: Form fields that are not items.
CONTROL_FIELDS = frozenset({"csrf_token", "action", "section"})


@dataclasses.dataclass(frozen=True, slots=True)
class _Option:
    """One choice's ``<div class="option">`` as escaped HTML, unchecked and checked."""

    value: str
    unchecked: Markup
    checked: Markup


_OPTION = Markup(
    '<div class="option">\n  <input type="{type}" id="{name}-{value}" name="{name}"'
    ' value="{value}"{checked}>\n  <label for="{name}-{value}">{label}</label>\n</div>'
)
_POINT = Markup('<span class="point">{value}</span>')
_POINT_LABEL = Markup('<span class="point-label">{label}</span>')
_CHECKED = Markup(" checked")


def _options(key: str, input_type: str, choices, *, points: bool = False) -> tuple[_Option, ...]:
    """The inputs of ``choices`` as the form page shows them, escaped once per cached field.

    Written here rather than as a Jinja loop: a page has some 20 choice items of 5 to 11
    choices each, and escaping every attribute of every choice on every render was the
    largest part of rendering a form page. ``points``: a scale's choices show the point
    and its label ("4 · Good").
    """
    built = []
    for choice in choices:
        label: Any = choice.label
        if points:
            label = _POINT.format(value=choice.value)
            if choice.label != choice.value:
                label += _POINT_LABEL.format(label=choice.label)
        html = {
            state: _OPTION.format(
                type=input_type, name=key, value=choice.value, label=label, checked=mark
            )
            for state, mark in (("unchecked", ""), ("checked", _CHECKED))
        }
        built.append(_Option(choice.value, **html))
    return tuple(built)


class _ChoiceOptions:
    """A choice field that renders its inputs from :func:`_options` built in advance
    (``options``, passed with the field's other arguments)."""

    def __init__(self, *args: Any, options: tuple[_Option, ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.options = options

    def options_html(self) -> Markup:
        """The field's inputs (without "cannot judge"), the answer given checked."""
        data = self.data
        if data is None:
            chosen: Any = ()
        elif isinstance(data, str):
            chosen = (data,)
        elif isinstance(data, list | tuple | set | frozenset):
            chosen = [str(value) for value in data]
        else:
            chosen = (str(data),)
        return Markup("\n").join(
            option.checked if option.value in chosen else option.unchecked
            for option in self.options
        )


class _RadioField(_ChoiceOptions, fields.RadioField):
    """A radio group whose "not a valid choice" message names what is expected."""

    def pre_validate(self, form: BaseForm) -> None:
        if self.data is None:
            return  # unanswered: fine for a draft, checked on final submit
        if not any(self.data == choice.value for choice in self.choices):
            raise validators.ValidationError(_("Choose one of the offered answers."))


class _ScaleField(_RadioField):
    """A scale item's radio group, with what its page needs worked out once per field:
    ``points`` (the scale's choices without "cannot judge") and ``as_list`` (a label has a
    word too long for five points side by side, e.g. "Удовлетворительно": shown as a list).
    """

    def __init__(self, label=None, validators=None, *, points=(), as_list=False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.points = points
        self.as_list = as_list


#: The longest word (letters) of a scale's labels that still fits a fifth of the form.
SIDE_BY_SIDE_WORD = 12


class _NotBefore:
    """A date item's answer cannot be before the answer of an earlier date item."""

    def __init__(self, other: str, other_label: str):
        self.other, self.other_label = other, other_label

    def __call__(self, form: BaseForm, field: fields.Field) -> None:
        earlier = form[self.other].data if self.other in form else None
        if field.data and earlier and field.data < earlier:
            raise validators.ValidationError(
                _l("This date cannot be before “%(other)s”.", other=self.other_label)
            )


class _NotInFuture:
    """A date that has already happened (an interview, a reviewed period)."""

    def __init__(self, today: dt.date):
        self.today = today

    def __call__(self, form: BaseForm, field: fields.Field) -> None:
        if field.data and field.data > self.today:
            raise validators.ValidationError(
                _l("This date is in the future; give a date up to today.")
            )


class _CheckboxesField(_ChoiceOptions, fields.SelectMultipleField):
    """Multiple choice rendered as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: BaseForm) -> None:
        allowed = {c.value for c in self.choices}
        unknown = [v for v in self.data or [] if v not in allowed]
        if unknown:
            raise validators.ValidationError(_("Choose among the offered answers."))


def _scale_choices(item: Mapping[str, Any], scale: Mapping[str, Any], language: str):
    labels = scale.get("labels", {})
    choices = [
        SelectChoice(str(point), text(labels.get(str(point)), language) or str(point))
        for point in range(int(scale["min"]), int(scale["max"]) + 1)
    ]
    if item.get("allow_na"):
        choices.append(SelectChoice(NOT_APPLICABLE, str(_l("Cannot judge"))))
    return choices


def item_field(
    item: Mapping[str, Any], definition: Mapping[str, Any], language: str, today: dt.date
):
    """The unbound WTForms field of one item (``today`` for dates that cannot be future)."""
    label = text(item["text"], language)
    description = text(item.get("help"), language)
    kind = item["type"]
    if kind in NUMERIC_TYPES:
        scale = definition["scales"][item["scale"]]
        choices = _scale_choices(item, scale, language)
        points = [choice for choice in choices if choice.value != NOT_APPLICABLE]
        words = " ".join(str(point.label) for point in points).split()
        return _ScaleField(
            label,
            choices=choices,
            description=description,
            validate_choice=False,
            points=points,
            as_list=max(map(len, words), default=0) > SIDE_BY_SIDE_WORD,
            options=_options(item["key"], "radio", points, points=True),
        )
    if kind in ("single_choice", "multiple_choice"):
        choices = [SelectChoice(o["key"], text(o["label"], language)) for o in item["options"]]
        single = kind == "single_choice"
        return (_RadioField if single else _CheckboxesField)(
            label,
            choices=choices,
            description=description,
            validate_choice=False,
            options=_options(item["key"], "radio" if single else "checkbox", choices),
        )
    if kind == "date":
        rules: list[Any] = [validators.Optional()]
        if item.get("not_before"):
            other = item_map(definition)[item["not_before"]]
            rules.append(_NotBefore(other["key"], text(other["text"], language)))
        if item.get("not_in_future"):
            rules.append(_NotInFuture(today))
        return fields.DateField(
            label,
            description=description,
            validators=rules,
            format="%Y-%m-%d",
            invalid_value_message=_l("Enter a real date (year, month and day)."),
            render_kw={"max": today.isoformat()} if item.get("not_in_future") else None,
        )
    limit = SHORT_TEXT_MAX if kind == "short_text" else LONG_TEXT_MAX
    field_class = fields.StringField if kind == "short_text" else fields.TextAreaField
    return field_class(
        label,
        description=description,
        validators=[
            validators.Length(
                max=limit,
                message=_l("At most %(max)d characters, please (this text is longer).", max=limit),
            )
        ],
    )


def section_form(
    definition: Mapping[str, Any],
    section: Mapping[str, Any],
    language: str,
    formdata: MultiDict | None = None,
    data: Mapping[str, Any] | None = None,
    *,
    today: dt.date,
) -> BaseForm:
    """A form of the items of ``section``, filled from ``formdata`` or stored ``data``."""
    form = BaseForm(_section_fields(definition, section, language, today))
    form.process(formdata, data=dict(data or {}))
    return form


#: Unbound fields of recently shown sections, by (instrument, section, language, today):
#: each entry keeps copies of the section and scales it was built from and is used only
#: while they are equal (a dict comparison is far cheaper than building the fields). A
#: published instrument version never changes, so the entries stay valid; other versions
#: or definitions simply build their own.
_SECTION_FIELDS: dict[tuple[Any, ...], tuple[Any, Any, list[tuple[str, Any]]]] = {}
_SECTION_FIELDS_MAX = 512


def _section_fields(
    definition: Mapping[str, Any], section: Mapping[str, Any], language: str, today: dt.date
) -> list[tuple[str, Any]]:
    """The (key, unbound field) pairs of ``section``, built once per language and day."""
    key = (definition.get("key"), section.get("key"), language, str(get_locale()), today)
    scales = definition.get("scales")
    cached = _SECTION_FIELDS.get(key)
    if cached is not None and cached[0] == section and cached[1] == scales:
        return cached[2]
    built = [
        (item["key"], item_field(item, definition, language, today)) for item in section["items"]
    ]
    if len(_SECTION_FIELDS) >= _SECTION_FIELDS_MAX:
        _SECTION_FIELDS.clear()  # e.g. after many days of uptime; rebuilt on demand
    _SECTION_FIELDS[key] = (copy.deepcopy(section), copy.deepcopy(scales), built)
    return built


def unknown_fields(formdata: MultiDict, section: Mapping[str, Any]) -> list[str]:
    """Names posted that are neither an item of ``section`` nor a control field."""
    allowed = CONTROL_FIELDS | {item["key"] for item in section["items"]}
    return sorted(name for name in formdata if name not in allowed)


def form_values(form: BaseForm, section: Mapping[str, Any]) -> dict[str, Any]:
    """The validated answers of a section: key → value (None when unanswered).

    Scale items give an ``int`` or :data:`NOT_APPLICABLE`; single choice an option key;
    multiple choice a list of keys; texts a stripped ``str`` (None when blank); dates a date.
    """
    values: dict[str, Any] = {}
    for item in section["items"]:
        raw = form[item["key"]].data
        kind = item["type"]
        if kind in NUMERIC_TYPES:
            values[item["key"]] = None if raw in (None, "") else _number_or_na(raw)
        elif kind == "multiple_choice":
            values[item["key"]] = list(dict.fromkeys(raw or [])) or None
        elif kind in ("short_text", "long_text"):
            values[item["key"]] = (raw or "").strip() or None
        else:
            values[item["key"]] = raw or None
    return values


def stored_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answers as the ``data`` a section form is filled with."""
    return {
        key: str(value) if isinstance(value, int) else value
        for key, value in values.items()
        if value is not None
    }


def _number_or_na(raw: str) -> int | str:
    return NOT_APPLICABLE if raw == NOT_APPLICABLE else int(raw)
