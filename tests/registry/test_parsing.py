"""Cell parsers and file reading never fail with anything but a clear message (no 500s)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import create_app
from surveys.registry.columns import IMPORT_KINDS, CellError, normalise_label
from surveys.registry.reading import FileProblem, read_table

CELLS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.booleans(),
)


@pytest.fixture(scope="module")
def request_context():
    """Translations need a request context; these tests need no database.

    The messages are read in English, as in the ``app`` fixture (the default locale is Uzbek).
    """
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "TESTING": True,
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    with app.test_request_context():
        yield


def test_every_parser_returns_a_value_or_says_what_was_expected(request_context):
    columns = [c for kind in IMPORT_KINDS.values() for c in kind.columns]

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(columns), CELLS)
    def check(column, value):
        try:
            column.parse(value)
        except CellError as exc:
            assert str(exc)  # a message saying what was expected

    check()


def test_free_text_makes_each_run_of_white_space_one_space(request_context):
    """Names keep their words and lose tabs, line breaks, no-break and wide spaces, as the
    regular expression ``\\s+`` (Unicode white space) defines them."""
    parse = IMPORT_KINDS["graduates"].column("full_name").parse
    spaces = " \t\n\r\x0b\x0c\x1c\x85\u00a0\u2003\u3000\u200b"  # \u200b is not a space

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from(spaces + "aЖʻ"), max_size=30))
    def check(value):
        expected = re.sub(r"\s+", " ", value).strip()
        if expected:
            assert parse(value) == expected

    check()
    assert parse("\u00a0Karimov\t\tAlisher  o\u2019g\u2018li\n") == "Karimov Alisher o’g‘li"


@pytest.mark.parametrize(
    "inner",
    [
        "<t>Karimov Alisher</t>",
        '<t xml:space="preserve">  two  spaces </t>',
        "<t/>",
        "",
        '<r><rPr><b/></rPr><t>Bold</t></r><r><t xml:space="preserve"> and plain</t></r>',
        '<t>Plain </t><r><t>then rich</t></r><rPh sb="0" eb="1"><t>phonetic</t></rPh>',
        '<r><t>rich first</t></r><t>plain</t><phoneticPr fontId="1"/>',
        "<t>first</t><t>last wins</t>",
        "<r><rPr><i/></rPr></r><r><t>Иванов</t></r>",
    ],
)
def test_inline_strings_read_as_openpyxl_reads_them(inner):
    """The fast reading of inline string cells agrees with openpyxl's own, case by case."""
    from xml.etree.ElementTree import fromstring

    from openpyxl.cell.text import Text

    from surveys.registry.reading import inline_string

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    node = fromstring(f'<is xmlns="{main}">{inner}</is>')
    assert inline_string(node) == Text.from_tree(node).content


def test_reading_arbitrary_bytes_gives_a_table_or_a_file_problem(request_context):
    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=300), st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a.xls"]))
    def check(data, name):
        try:
            table = read_table(data, name, "graduates")
            numbers = [number for number, _ in table.rows()]  # rows are read as a stream
        except FileProblem as exc:
            assert str(exc)
        else:
            assert all(number >= 2 for number in numbers)
            assert numbers == sorted(set(numbers))

    check()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-30", dt.date(2024, 6, 30)),
        ("30.06.2024", dt.date(2024, 6, 30)),
        ("1.7.2024", dt.date(2024, 7, 1)),
        (dt.datetime(2024, 6, 30, 0, 0), dt.date(2024, 6, 30)),
    ],
)
def test_dates(request_context, text, expected):
    assert IMPORT_KINDS["employment"].column("end_date").parse(text) == expected


@pytest.mark.parametrize("text", ["2024/06/30", "06-30-2024", "30.13.2024", "yesterday", "2024"])
def test_bad_dates(request_context, text):
    with pytest.raises(CellError, match=r"YYYY-MM-DD or DD\.MM\.YYYY"):
        IMPORT_KINDS["employment"].column("end_date").parse(text)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Internship", "internship"),
        ("СТАЖИРОВКА", "internship"),
        ("production-practice", "production_practice"),
        ("Qo‘shma faoliyat", "joint_activity"),  # Uzbek with a typographic apostrophe
        ("Повышение квалификации", "employee_training"),
    ],
)
def test_agreement_kind_labels(request_context, label, value):
    assert IMPORT_KINDS["agreements"].column("kind").parse(label) == value


def test_header_normalisation():
    assert normalise_label("  Student_Number ") == normalise_label("student-number")
    assert normalise_label("Дата приёма") == "дата приема"


@pytest.mark.parametrize(
    "address",
    [
        "madina.nazarova1@mail.example.uz",
        "Madina.Nazarova@MAIL.Example.UZ",
        "a+tag_x-y@sub.domain.co.uz",
        "x@localhost",
        "x@foo.test",
        "x@xn--80ak6aa92e.com",
        "x@ab--cd.uz",
        "x@-bad.uz",
        "x@bad-.uz",
        "a..b@mail.uz",
        ".a@mail.uz",
        "a.@mail.uz",
        "a" * 65 + "@mail.uz",
        "x@" + "d" * 64 + ".uz",
        "x@mail.u",
        "x@123.456",
        "имя@почта.уз",
        "o'g'li@mail.uz",
        "x@mail.uz ",
    ],
)
def test_plain_addresses_are_read_as_email_validator_reads_them(request_context, address):
    """The fast path for plain ASCII addresses agrees with email_validator, case by case."""
    from email_validator import EmailNotValidError, validate_email

    from surveys.registry.columns import email

    try:
        expected = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        got = email(address)
    except CellError:
        got = None
    assert got == expected
