"""What an import file of each kind must contain: one declarative table of columns.

Every registry import (CLI and upload page) reads its columns from :data:`IMPORT_KINDS`.
A column has a canonical English name (the one in the CSV templates), a few accepted
aliases (Russian and Uzbek headers that spreadsheets from the institutions use), whether it
is required, and a parser that turns a cell into a Python value or raises :class:`CellError`
saying what was expected. Headers are matched ignoring case, spaces, ``_`` and ``-``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from surveys.i18n import LANGUAGE_NAMES
from surveys.registry.models import AgreementKind, EmploymentStatus, ProgrammeLevel

#: Oldest graduation year accepted (the database has the same bound).
FIRST_YEAR = 1950


class CellError(ValueError):
    """A cell could not be read; the message says what was expected instead."""


Parser = Callable[[Any], Any]


def normalise_label(text: str) -> str:
    """Fold a header or a label for matching: case, spaces, ``_``/``-``, ``ё``, apostrophes."""
    text = str(text).casefold().replace("ё", "е")
    text = re.sub(r"[ʻʼ‘’`´]", "'", text)
    text = re.sub(r"[\s_\-]+", " ", text)
    return text.strip()


def cell_text(value: Any) -> str:
    """A cell as text: Excel numbers that are whole (``12345.0``) lose their ``.0``."""
    if type(value) is str:  # every cell of a CSV: the common case first
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def text(max_length: int) -> Parser:
    """Free text of at most ``max_length`` characters (inner runs of spaces collapsed)."""

    def parse(value: Any) -> str:
        # what re.sub(r"\s+", " ", …) gives for stripped text (both split on str.isspace()),
        # in a third of the time
        result = " ".join(cell_text(value).split())
        if len(result) > max_length:
            raise CellError(_("text of at most %(n)d characters", n=max_length))
        return result

    return parse


_CODE = re.compile(r"^[\w./-]+$")


def code(max_length: int) -> Parser:
    """An identifier: letters, digits and ``- . / _``, no spaces."""

    def parse(value: Any) -> str:
        result = cell_text(value)
        if len(result) > max_length or not _CODE.match(result):
            raise CellError(
                _(
                    "a code of letters, digits and - . / _ without spaces "
                    "(at most %(n)d characters)",
                    n=max_length,
                )
            )
        return result

    return parse


def tax_number(value: Any) -> str:
    """A tax (registry) number: 5 to 20 digits (0-9); spaces inside are dropped."""
    result = re.sub(r"\s+", "", cell_text(value))
    if not re.fullmatch(r"[0-9]{5,20}", result):
        raise CellError(_("a tax number of 5 to 20 digits, e.g. 301234567"))
    return result


def year(value: Any) -> int:
    """A graduation year between 1950 and next year."""
    last = dt.date.today().year + 1
    try:
        result = int(cell_text(value))
    except ValueError:
        result = None
    if result is None or not FIRST_YEAR <= result <= last:
        raise CellError(_("a year between %(first)d and %(last)d", first=FIRST_YEAR, last=last))
    return result


_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = re.sub(r"[ T]00:00(:00)?$", "", cell_text(value))  # a date exported as midnight
    try:
        if match := _DOTTED.match(raw):
            day, month, year_ = (int(part) for part in match.groups())
            return dt.date(year_, month, day)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    raise CellError(_("a date as YYYY-MM-DD or DD.MM.YYYY, e.g. 2024-06-30"))


def date(*, not_future: bool = False) -> Parser:
    """A date (ISO, ``DD.MM.YYYY`` or an Excel date cell); ``not_future`` refuses after today."""

    def parse(value: Any) -> dt.date:
        result = _parse_date(value)
        if result.year < FIRST_YEAR:
            raise CellError(_("a date after %(year)d", year=FIRST_YEAR))
        if not_future and result > dt.date.today():
            raise CellError(_("a date that is not in the future"))
        return result

    return parse


#: The common case of an address: plain ASCII, a dot-atom local part, a registered-style
#: domain. email_validator would accept it and normalise only the domain's case; checking it
#: here first makes an import of 100,000 graduates several times faster.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def email(value: Any) -> str:
    """An e-mail address (syntax only; nobody is contacted), normalised."""
    raw = cell_text(value)
    plain = _PLAIN_EMAIL.fullmatch(raw)
    if plain is not None:
        local, domain = plain.group("local"), plain.group("domain").lower()
        labels = domain.split(".")
        # no label with "--" in third and fourth place, as IDNA's "xn--" (checked only when
        # the domain has a "--" at all)
        if (
            len(local) <= 64
            and len(raw) <= 254
            and ("--" not in domain or not any(label[2:4] == "--" for label in labels))
            and labels[-1] not in SPECIAL_USE_DOMAIN_NAMES
        ):
            return f"{local}@{domain}"
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise CellError(_("an e-mail address such as name@example.uz")) from exc


def choice(enum_cls: type[enum.StrEnum], labels: dict[str, tuple[str, ...]]) -> Parser:
    """A value of ``enum_cls``, given as its value or a label in English, Russian or Uzbek."""
    lookup: dict[str, enum.StrEnum] = {}
    for member in enum_cls:
        lookup[normalise_label(member.value)] = member
        for label in labels.get(member.value, ()):
            lookup[normalise_label(label)] = member

    def parse(value: Any) -> enum.StrEnum:
        member = lookup.get(normalise_label(cell_text(value)))
        if member is None:
            raise CellError(_("one of: %(values)s", values=", ".join(m.value for m in enum_cls)))
        return member

    return parse


#: Human labels accepted for each agreement kind (English, Russian, Uzbek).
AGREEMENT_KIND_LABELS: dict[str, tuple[str, ...]] = {
    "joint_activity": (
        "joint activity",
        "agreement on joint activity",
        "совместная деятельность",
        "договор о совместной деятельности",
        "qo'shma faoliyat",
    ),
    "production_practice": (
        "production practice",
        "production training",
        "practice",
        "производственная практика",
        "практика",
        "ishlab chiqarish amaliyoti",
        "amaliyot",
    ),
    "targeted_training": ("targeted training", "целевая подготовка", "maqsadli tayyorlash"),
    "employee_training": (
        "employee training",
        "continuing education",
        "обучение сотрудников",
        "повышение квалификации",
        "xodimlarni o'qitish",
        "malaka oshirish",
    ),
    "joint_research": (
        "joint research",
        "research",
        "совместные исследования",
        "qo'shma tadqiqot",
        "qo'shma tadqiqotlar",
    ),
    "internship": ("internship", "стажировка", "stajirovka", "stajyorlik"),
    "employment": ("employment", "трудоустройство", "ishga joylashtirish"),
    "attestation_commission": (
        "attestation commission",
        "accreditation commission",
        "аттестационная комиссия",
        "attestatsiya komissiyasi",
    ),
}

#: Human labels accepted for each employment status (English, Russian, Uzbek).
EMPLOYMENT_STATUS_LABELS: dict[str, tuple[str, ...]] = {
    "employed": (
        "working",
        "трудоустроен",
        "трудоустроена",
        "работает",
        "ishlaydi",
        "ishga joylashgan",
    ),
    "not_employed": (
        "unemployed",
        "not working",
        "не трудоустроен",
        "не трудоустроена",
        "не работает",
        "ishlamaydi",
        "ishsiz",
    ),
    "further_study": (
        "study",
        "studying",
        "continues studies",
        "продолжает обучение",
        "учится",
        "магистратура",
        "o'qishni davom ettirmoqda",
        "o'qiydi",
    ),
}

#: Human labels accepted for each programme level.
PROGRAMME_LEVEL_LABELS: dict[str, tuple[str, ...]] = {
    "vocational": (
        "college",
        "technikum",
        "колледж",
        "техникум",
        "среднее специальное",
        "texnikum",
    ),
    "bachelor": ("bachelor's", "бакалавриат", "бакалавр", "bakalavr", "bakalavriat"),
    "master": ("master's", "магистратура", "магистр", "magistr", "magistratura"),
    "doctoral": ("phd", "doctorate", "докторантура", "doktorantura"),
}


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    name: str  #: canonical header (English, as in the CSV template)
    parse: Parser  #: cell → value, or :class:`CellError`
    required: bool = True
    aliases: tuple[str, ...] = ()  #: other accepted headers (Russian, Uzbek, variants)
    help: Any = ""  #: one line for the template page and ``--help``

    def headers(self) -> set[str]:
        """Every normalised header that names this column."""
        return {normalise_label(h) for h in (self.name, *self.aliases)}


@dataclass(frozen=True)
class ImportKind:
    """One kind of import: its columns and the columns of its natural key in the file."""

    name: str
    label: Any
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    notes: tuple[Any, ...] = field(default=())

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_STUDENT = Column(
    "student_number",
    code(64),
    aliases=("student no", "student id", "номер студента", "номер зачетки", "talaba raqami"),
    help=_l("the graduate's student number at the institution"),
)
_EMPLOYER_TAX = Column(
    "employer_tax_number",
    tax_number,
    aliases=("tax number", "inn", "tin", "employer inn", "инн", "инн работодателя", "stir"),
    help=_l("tax number of an employer already in this institution's registry"),
)

#: The import kinds, in the order they must be imported (later kinds refer to earlier ones).
IMPORT_KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (
        ImportKind(
            "programmes",
            _l("Programmes"),
            (
                Column(
                    "code",
                    code(32),
                    aliases=("programme code", "код", "код программы", "шифр", "kod", "shifr"),
                    help=_l("programme code, unique within the institution"),
                ),
                Column(
                    "name",
                    text(255),
                    aliases=("programme", "название", "наименование", "nomi"),
                    help=_l("programme name (shown in every language that has none of its own)"),
                ),
                *(
                    Column(
                        f"name_{language}",
                        text(255),
                        required=False,
                        aliases=(f"name ({language})", f"название {language}", f"nomi {language}"),
                        help=_l("programme name in %(language)s (optional)", language=label),
                    )
                    for language, label in LANGUAGE_NAMES.items()
                ),
                Column(
                    "level",
                    choice(ProgrammeLevel, PROGRAMME_LEVEL_LABELS),
                    aliases=("уровень", "daraja"),
                    help=_l("vocational, bachelor, master or doctoral"),
                ),
                Column(
                    "field_of_study",
                    text(255),
                    aliases=("field", "направление", "область", "yo'nalish"),
                    help=_l("field of study"),
                ),
            ),
            key=("code",),
        ),
        ImportKind(
            "graduates",
            _l("Graduates"),
            (
                _STUDENT,
                Column(
                    "full_name",
                    text(255),
                    aliases=("name", "фио", "f.i.sh.", "fish", "ism familiya"),
                    help=_l("full name"),
                ),
                Column(
                    "programme_code",
                    code(32),
                    aliases=("programme", "код программы", "программа", "dastur kodi"),
                    help=_l("code of a programme already imported"),
                ),
                Column(
                    "graduation_year",
                    year,
                    aliases=("year", "год выпуска", "bitirgan yili"),
                    help=_l("year of graduation"),
                ),
                Column(
                    "email",
                    email,
                    required=False,
                    aliases=("e-mail", "эл. почта", "электронная почта", "почта", "pochta"),
                    help=_l("e-mail address (optional)"),
                ),
                Column(
                    "employment_status",
                    choice(EmploymentStatus, EMPLOYMENT_STATUS_LABELS),
                    required=False,
                    aliases=(
                        "status",
                        "employment",
                        "статус трудоустройства",
                        "трудоустройство",
                        "bandlik holati",
                    ),
                    help=_l(
                        "employed, not_employed or further_study, e.g. from a graduate survey "
                        "(optional; empty = unknown)"
                    ),
                ),
            ),
            key=("student_number",),
        ),
        ImportKind(
            "employers",
            _l("Employers"),
            (
                Column(
                    "tax_number",
                    tax_number,
                    aliases=("inn", "tin", "инн", "stir"),
                    help=_l("tax number: which enterprise this row is about"),
                ),
                Column(
                    "name",
                    text(255),
                    aliases=(
                        "employer",
                        "организация",
                        "предприятие",
                        "наименование",
                        "korxona",
                        "nomi",
                    ),
                    help=_l("name of the enterprise, as this institution writes it"),
                ),
                Column(
                    "sector",
                    text(128),
                    required=False,
                    aliases=("отрасль", "soha"),
                    help=_l("sector (optional)"),
                ),
                Column(
                    "region",
                    text(128),
                    required=False,
                    aliases=("регион", "viloyat", "hudud"),
                    help=_l("region (optional)"),
                ),
                Column(
                    "contact_name",
                    text(255),
                    required=False,
                    aliases=("contact", "контактное лицо", "mas'ul shaxs"),
                    help=_l("contact person (optional)"),
                ),
                Column(
                    "contact_email",
                    email,
                    required=False,
                    aliases=("contact e-mail", "email", "e-mail", "эл. почта"),
                    help=_l("contact e-mail, where invitations are sent (optional)"),
                ),
                Column(
                    "notes",
                    text(2000),
                    required=False,
                    aliases=("note", "comment", "примечание", "комментарий", "izoh"),
                    help=_l("notes (optional)"),
                ),
            ),
            key=("tax_number",),
            notes=(
                _l(
                    "What this file says about an enterprise — name, sector, region, contact, "
                    "notes — is this institution's own: no other institution sees or changes "
                    "it, even one that works with the same enterprise."
                ),
            ),
        ),
        ImportKind(
            "agreements",
            _l("Partnership agreements"),
            (
                Column(
                    "number",
                    code(64),
                    aliases=("agreement number", "номер", "номер договора", "shartnoma raqami"),
                    help=_l("agreement number, unique within the institution"),
                ),
                _EMPLOYER_TAX,
                Column(
                    "kind",
                    choice(AgreementKind, AGREEMENT_KIND_LABELS),
                    aliases=("type", "вид", "тип", "вид договора", "turi"),
                    help=_l("kind of agreement, e.g. internship, production_practice"),
                ),
                Column(
                    "signed_on",
                    date(not_future=True),
                    aliases=("signed", "date signed", "дата подписания", "imzolangan sana"),
                    help=_l("date signed (not in the future)"),
                ),
                Column(
                    "valid_from",
                    date(),
                    aliases=("действует с", "amal qilish boshlanishi"),
                    help=_l("first day of validity"),
                ),
                Column(
                    "valid_until",
                    date(),
                    required=False,
                    aliases=("действует до", "amal qilish tugashi"),
                    help=_l("last day of validity (empty = open-ended)"),
                ),
            ),
            key=("number",),
        ),
        ImportKind(
            "employment",
            _l("Employment"),
            (
                _STUDENT,
                _EMPLOYER_TAX,
                Column(
                    "position",
                    text(255),
                    aliases=("должность", "lavozim"),
                    help=_l("position held"),
                ),
                Column(
                    "start_date",
                    date(not_future=True),
                    aliases=("start", "дата начала", "дата приема", "boshlanish sanasi"),
                    help=_l("first day of employment (not in the future)"),
                ),
                Column(
                    "end_date",
                    date(),
                    required=False,
                    aliases=("end", "дата окончания", "дата увольнения", "tugash sanasi"),
                    help=_l("last day (empty = still employed)"),
                ),
            ),
            key=("student_number", "employer_tax_number", "start_date"),
        ),
        ImportKind(
            "internships",
            _l("Internships"),
            (
                _STUDENT,
                _EMPLOYER_TAX,
                Column(
                    "start_date",
                    date(not_future=True),
                    aliases=("start", "дата начала", "boshlanish sanasi"),
                    help=_l("first day of the internship (not in the future)"),
                ),
                Column(
                    "end_date",
                    date(),
                    required=False,
                    aliases=("end", "дата окончания", "tugash sanasi"),
                    help=_l("last day (optional)"),
                ),
                Column(
                    "mentor_name",
                    text(255),
                    required=False,
                    aliases=("mentor", "наставник", "murabbiy", "ustoz"),
                    help=_l("mentor appointed by the enterprise (optional)"),
                ),
                Column(
                    "agreement_number",
                    code(64),
                    required=False,
                    aliases=("agreement", "номер договора", "shartnoma raqami"),
                    help=_l("number of the internship agreement (optional)"),
                ),
            ),
            key=("student_number", "employer_tax_number", "start_date"),
        ),
    )
}

#: Columns whose later date must not precede the earlier one: (kind, start column, end column).
ORDERED_DATES = (
    ("agreements", "valid_from", "valid_until"),
    ("employment", "start_date", "end_date"),
    ("internships", "start_date", "end_date"),
)
