"""Registry imports through the service: formats, natural keys, all-or-nothing, bad rows."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from surveys.audit.models import AuditEvent
from surveys.registry.models import (
    AgreementKind,
    Employer,
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Internship,
    PartnershipAgreement,
)
from tests.registry.conftest import example


def _issues(result) -> set[tuple]:
    return {(e.row, e.column) for e in result.errors}


def _expected(result, row, column) -> str:
    return next(e.expected for e in result.errors if (e.row, e.column) == (row, column))


def test_example_chain_imports_every_kind(import_chain, institution, db, count):
    results = import_chain()
    assert {k: r.created for k, r in results.items()} == {
        "programmes": 6,
        "graduates": 40,
        "employers": 8,
        "agreements": 8,
        "employment": 25,
        "internships": 10,
    }
    assert count(Graduate, institution_id=institution.id) == 40
    assert count(EmploymentRecord) == 25
    links = db.scalars(select(EmployerLink).where(EmployerLink.institution_id == institution.id))
    by_tax = {link.employer.tax_number: link for link in links}
    assert len(by_tax) == 8
    assert by_tax["302345671"].contact_email == "hr71@corp.example.uz"
    assert by_tax["302345671"].employer.name == by_tax["302345671"].name  # a new identity
    # human labels in any language become the enum value
    sh3 = db.scalar(select(PartnershipAgreement).where(PartnershipAgreement.number == "SH-003"))
    assert sh3.kind == AgreementKind.INTERNSHIP  # "Стажировка"
    assert sh3.signed_on == dt.date(2022, 12, 22)  # "22.12.2022"
    assert sh3.valid_until is None
    joint = db.scalar(select(PartnershipAgreement).where(PartnershipAgreement.number == "SH-008"))
    assert joint.kind == AgreementKind.JOINT_ACTIVITY  # "qo'shma faoliyat"
    internship = db.scalar(
        select(Internship).join(Graduate).where(Graduate.student_number == "QM240001")
    )
    assert internship.agreement.number == "SH-003"
    assert internship.start_date == dt.date(2023, 6, 2)
    assert internship.mentor_name == "Xolmatova Kamola"
    graduate = db.scalar(select(Graduate).where(Graduate.student_number == "QM240001"))
    assert graduate.email == "madina.nazarova1@mail.example.uz"
    assert graduate.pseudonym.startswith("G-")


def test_cp1251_semicolon_file_with_russian_headers(run_import, institution, import_chain, db):
    import_chain("programmes")
    result = run_import(institution.id, "graduates", "graduates-cp1251-semicolon.csv")
    assert result.ok, result.errors
    assert result.created == 20
    assert "cp1251" in result.how_read and ";" in result.how_read
    names = set(db.scalars(select(Graduate.full_name).where(Graduate.student_number.like("RU%"))))
    assert "Цой Сергей" in names


@pytest.mark.parametrize(
    ("variant", "how"),
    [
        ("bom-comma", "utf-8-sig"),
        ("semicolon", "“;”"),
        ("tab", "tab"),
        ("crlf-upper-headers", "utf-8"),
        ("utf16", "utf-16"),
    ],
)
def test_utf8_variants_read_the_same_rows(run_import, institution, import_chain, db, variant, how):
    import_chain("programmes")
    text = example("graduates.csv").decode("utf-8")
    if variant == "bom-comma":
        data = b"\xef\xbb\xbf" + text.encode()
    elif variant == "semicolon":
        data = text.replace(",", ";").encode()
    elif variant == "tab":
        data = text.replace(",", "\t").encode()
    elif variant == "utf16":
        data = text.replace(",", "\t").encode("utf-16")
    else:
        _header, rest = text.split("\r\n", 1)
        data = (
            " Student Number ,FULL_NAME,Programme-Code,graduation year,E-mail\r\n" + rest
        ).encode()
    result = run_import(institution.id, "graduates", "graduates.csv", data)
    assert result.ok, result.errors
    assert result.created == 40
    assert how in result.how_read


def test_reimport_updates_and_never_duplicates(run_import, institution, import_chain, count):
    import_chain("graduates")
    again = run_import(institution.id, "graduates", "graduates.xlsx")  # the same rows as XLSX
    assert (again.created, again.updated, again.unchanged) == (0, 0, 40)
    changed = example("graduates.csv").replace(b"Nazarova Madina", b"Nazarova-Aliyeva Madina")
    result = run_import(institution.id, "graduates", "graduates.csv", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 39)
    assert count(Graduate) == 40
    assert count(Graduate, full_name="Nazarova-Aliyeva Madina") == 1
    for kind in ("employers", "agreements", "employment", "internships"):
        run_import(institution.id, kind, f"{kind}.csv")
        second = run_import(institution.id, kind, f"{kind}.csv")
        assert (second.created, second.updated) == (0, 0), kind
    assert count(EmploymentRecord) == 25
    assert count(Internship) == 10
    assert count(Employer) == 8


def test_dry_run_reports_counts_and_writes_nothing(run_import, institution, import_chain, count):
    import_chain("programmes")
    before = count(AuditEvent)
    result = run_import(institution.id, "graduates", "graduates.csv", dry_run=True)
    assert result.ok and result.dry_run and not result.written
    assert result.created == 40
    assert count(Graduate) == 0
    assert count(AuditEvent) == before


def test_import_writes_one_audit_event_with_counts(run_import, institution, import_chain, db):
    import_chain("graduates")
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "registry.import")).all()
    assert [e.details["kind"] for e in events] == ["programmes", "graduates"]
    assert events[1].details["created"] == 40
    assert events[1].institution_id == institution.id
    assert events[1].actor == "cli"  # no logged-in user in this context


def test_bad_graduates_are_all_reported_and_nothing_written(
    run_import, institution, import_chain, count
):
    import_chain("programmes")
    result = run_import(institution.id, "graduates", "graduates-bad.csv")
    assert not result.ok
    assert _issues(result) == {
        (2, "programme_code"),
        (4, "student_number"),
        (5, "graduation_year"),
        (6, "email"),
        (7, "full_name"),
    }
    assert "programmes" in _expected(result, 2, "programme_code")
    assert "also on row 3" in _expected(result, 4, "student_number")
    assert "a year between 1950" in _expected(result, 5, "graduation_year")
    assert "e-mail address" in _expected(result, 6, "email")
    assert "required" in _expected(result, 7, "full_name")
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert count(Graduate) == 0  # not even the valid rows 3 and 8


def test_bad_employment_rows(run_import, institution, import_chain, count):
    import_chain("employers")
    result = run_import(institution.id, "employment", "employment-bad.csv")
    assert _issues(result) == {
        (2, "start_date"),
        (3, "end_date"),
        (4, "student_number"),
        (5, "employer_tax_number"),
        (6, "start_date"),
    }
    assert "not in the future" in _expected(result, 2, "start_date")
    assert "on or after start_date" in _expected(result, 3, "end_date")
    assert "import graduates first" in _expected(result, 4, "student_number")
    assert "import employers first" in _expected(result, 5, "employer_tax_number")
    assert "YYYY-MM-DD or DD.MM.YYYY" in _expected(result, 6, "start_date")  # 31.02.2024
    assert count(EmploymentRecord) == 0


def test_bad_agreements(run_import, institution, import_chain, count):
    import_chain("employers")
    result = run_import(institution.id, "agreements", "agreements-bad.csv")
    assert _issues(result) == {(2, "kind"), (3, "signed_on"), (4, "valid_until")}
    assert "internship" in _expected(result, 2, "kind")
    assert count(PartnershipAgreement) == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "is empty"),
        ("wrong-header.csv", "missing column(s) student_number, graduation_year"),
        ("not-a-workbook.xlsx", "not a valid Excel workbook"),
        ("graduates-wrong-sheet.xlsx", "The workbook has the sheets Notes, Sheet2"),
    ],
)
def test_unreadable_files_get_one_clear_message(
    run_import, institution, import_chain, count, name, message
):
    import_chain("programmes")
    result = run_import(institution.id, "graduates", name)
    assert len(result.errors) == 1
    assert message in result.errors[0].expected
    assert count(Graduate) == 0


def test_wrong_header_names_what_was_found_and_expected(run_import, institution):
    result = run_import(institution.id, "graduates", "wrong-header.csv")
    message = result.errors[0].expected
    assert result.errors[0].row == 1
    assert "Found: id, name, programme, born" in message
    assert "student_number, full_name, programme_code, graduation_year" in message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old Excel 97"),
        (b"student_number,full_name,programme_code,graduation_year\r\n", "no data rows"),
        (b"\r\n\r\n  \r\n", "is empty"),
        (b"\x00\x01\x02binary\x00", "not a CSV file"),
    ],
)
def test_other_unreadable_inputs(run_import, institution, data, message):
    result = run_import(institution.id, "graduates", "upload.csv", data)
    assert message in result.errors[0].expected


def test_size_limit(run_import, institution):
    result = run_import(institution.id, "programmes", "big.csv", b"x" * 2048, max_bytes=1024)
    assert (
        result.errors[0].expected
        == "a file of at most 1 KB (this one has 2 KB); split it into parts"
    )


def test_xlsx_date_cells_numbers_and_sheet_named_after_kind(
    run_import, institution, import_chain, db
):
    import_chain("employers")
    book = Workbook()
    book.active.title = "Read me"
    book.active.append(["Employment sheet follows"])
    sheet = book.create_sheet("Employment")
    sheet.append(["Student number", "INN", "Должность", "Дата начала", "end_date"])
    sheet.append(["QM240001", 302345671, "engineer", dt.datetime(2024, 9, 2), None])
    sheet.append([None, None, None, None, None])  # blank rows are skipped
    sheet.append(["QM220002", 302345672.0, "operator", dt.date(2022, 9, 1), "01.09.2023"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = run_import(institution.id, "employment", "employment.xlsx", buffer.getvalue())
    assert result.ok, result.errors
    assert result.created == 2
    assert "Employment" in result.how_read
    record = db.scalar(
        select(EmploymentRecord).join(Graduate).where(Graduate.student_number == "QM220002")
    )
    assert (record.start_date, record.end_date) == (dt.date(2022, 9, 1), dt.date(2023, 9, 1))
    assert record.employer.tax_number == "302345672"


def test_extra_columns_are_ignored_with_a_warning(run_import, institution):
    data = b"code,name,level,field_of_study,dean\r\nX1,Test,Bakalavr,Engineering,Someone\r\n"
    result = run_import(institution.id, "programmes", "p.csv", data)
    assert result.ok and result.created == 1
    assert "dean" in result.warnings[0]


def test_graduates_of_another_institution_are_not_matched(
    run_import, institution, make_institution, import_chain, db, count
):
    import_chain("employers")
    other = make_institution(code="TDTU")
    db.commit()
    run_import(other.id, "programmes", "programmes.csv")
    # TDTU has no graduates and no employers: QMII's student numbers and QMII's employers
    # are unknown there
    result = run_import(other.id, "employment", "employment.csv")
    assert not result.ok
    assert {e.column for e in result.errors} == {"student_number", "employer_tax_number"}
    # the same student number may exist in both institutions
    run_import(other.id, "graduates", "graduates.csv")
    assert count(Graduate) == 80


def test_internship_agreement_must_belong_to_the_employer(run_import, institution, import_chain):
    import_chain("agreements")
    data = (
        b"student_number,employer_tax_number,start_date,agreement_number\r\n"
        b"QM240001,302345672,2023-06-01,SH-003\r\n"
    )
    result = run_import(institution.id, "internships", "i.csv", data)
    assert _issues(result) == {(2, "agreement_number")}


def test_ten_thousand_graduates_import_in_seconds(run_import, institution, import_chain, count):
    import_chain("programmes")
    codes = ["60710100", "60710200", "60410100", "60610100"]
    lines = ["student_number,full_name,programme_code,graduation_year,email"]
    lines += [
        f"BIG{n:06d},Graduate Number {n},{codes[n % 4]},{2020 + n % 5},g{n}@mail.example.uz"
        for n in range(10_000)
    ]
    data = "\r\n".join(lines).encode()
    started = time.perf_counter()
    result = run_import(institution.id, "graduates", "big.csv", data)
    first = time.perf_counter() - started
    assert result.ok and result.created == 10_000
    started = time.perf_counter()
    again = run_import(institution.id, "graduates", "big.csv", data.replace(b"Number 1", b"No 1"))
    second = time.perf_counter() - started
    assert (again.created, again.updated) == (0, 1111)
    assert count(Graduate) == 10_000
    print(f"10k graduates: first import {first:.2f} s, re-import {second:.2f} s")
    assert first < 30 and second < 30  # a guard against per-row queries, not a benchmark


def test_excel_sep_hint_line_and_midnight_timestamps(run_import, institution, import_chain, db):
    import_chain("employers")
    data = (
        b"sep=;\r\nnumber;employer_tax_number;kind;signed_on;valid_from\r\n"
        b"A-1;302345671;internship;2024-01-10 00:00:00;10.01.2024\r\n"
    )
    result = run_import(institution.id, "agreements", "a.csv", data)
    assert result.ok, result.errors
    agreement = db.scalar(select(PartnershipAgreement).where(PartnershipAgreement.number == "A-1"))
    assert agreement.signed_on == agreement.valid_from == dt.date(2024, 1, 10)
