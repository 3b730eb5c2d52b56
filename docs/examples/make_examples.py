"""Write the example registry import files in this folder (seeded: the output never changes).

Run ``python docs/examples/make_examples.py`` after changing it and commit the outputs. The
files are consistent with each other, imported in this order into one institution:

programmes.csv → graduates.csv (or graduates.xlsx, the same rows) and
graduates-cp1251-semicolon.csv (other graduates, Russian headers and names, Windows-1251,
``;``) → employers.csv → agreements.csv → employment.csv → internships.csv.

The ``*-bad*`` files, ``wrong-header.csv``, ``empty.csv``, ``not-a-workbook.xlsx`` and
``graduates-wrong-sheet.xlsx`` show the mistakes the import reports; the tests use them all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent
RNG = random.Random(20240601)

PROGRAMMES = [
    ("60710100", "Oil and gas engineering", "bachelor", "Engineering"),
    ("60710200", "Chemical technology", "bachelor", "Engineering"),
    ("60410100", "Economics", "bachelor", "Economics"),
    ("60610100", "Computer engineering", "bachelor", "Information technology"),
    ("70710100", "Oil and gas engineering (MSc)", "master", "Engineering"),
    ("31110100", "Welding technology", "vocational", "Engineering"),
]

FIRST = [
    "Aziz",
    "Dilnoza",
    "Jasur",
    "Madina",
    "Sardor",
    "Nigora",
    "Otabek",
    "Shahnoza",
    "Bekzod",
    "Gulnora",
    "Rustam",
    "Zarina",
    "Timur",
    "Malika",
    "Farrux",
    "Kamola",
]
LAST = [
    "Karimov",
    "Rashidova",
    "Toshmatov",
    "Yusupova",
    "Abdullayev",
    "Saidova",
    "Ergashev",
    "Nazarova",
    "Qodirov",
    "Xolmatova",
    "Mirzayev",
    "Ismoilova",
]
RU_FIRST = ["Алексей", "Мария", "Дмитрий", "Елена", "Сергей", "Ольга", "Андрей", "Наталья"]
RU_LAST = ["Иванов", "Петрова", "Ким", "Соколова", "Пак", "Фёдорова", "Цой", "Лебедева"]

EMPLOYERS = [
    ("302345671", "Sho'rtan gaz kimyo majmuasi", "Oil and gas", "Qashqadaryo"),
    ("302345672", "Muborak gazni qayta ishlash zavodi", "Oil and gas", "Qashqadaryo"),
    ("302345673", "Qarshi issiqlik elektr stansiyasi", "Energy", "Qashqadaryo"),
    ("302345674", "Dehqonobod kaliy zavodi", "Chemistry", "Qashqadaryo"),
    ("302345675", "Uzbekneftegaz", "Oil and gas", "Toshkent"),
    ("302345676", "Qarshi shahar hokimligi", "Public administration", "Qashqadaryo"),
    ("302345677", "Kokdumaloq Operating Company", "Oil and gas", "Qashqadaryo"),
    ("302345678", "Qashqadaryo IT Park", "Information technology", "Qashqadaryo"),
]

POSITIONS = [
    "process engineer",
    "operator",
    "economist",
    "software developer",
    "laboratory assistant",
    "welder",
    "shift supervisor",
    "analyst",
]


def _csv(rows: list[list[object]], *, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _write(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def _email(first: str, last: str, n: int) -> str:
    return f"{first.lower()}.{last.lower()}{n}@mail.example.uz".replace("'", "")


def graduates() -> list[list[object]]:
    rows = []
    for n in range(1, 41):
        first, last = RNG.choice(FIRST), RNG.choice(LAST)
        code = RNG.choice(PROGRAMMES)[0]
        year = RNG.choice([2021, 2022, 2023, 2024, 2025])
        email = _email(first, last, n) if RNG.random() < 0.8 else ""
        rows.append([f"QM{year % 100:02d}{n:04d}", f"{last} {first}", code, year, email])
    return rows


def main() -> None:
    header = ["code", "name", "level", "field_of_study"]
    _write("programmes.csv", _csv([header, *map(list, PROGRAMMES)]))

    grads = graduates()
    grad_header = ["student_number", "full_name", "programme_code", "graduation_year", "email"]
    _write("graduates.csv", _csv([grad_header, *grads]))

    book = Workbook()
    sheet = book.active
    sheet.title = "Graduates"
    sheet.append(grad_header)
    for row in grads:
        sheet.append(row)
    book.save(HERE / "graduates.xlsx")

    ru_rows = [["Номер студента", "ФИО", "Код программы", "Год выпуска", "Эл. почта"]]
    for n in range(1, 21):
        first, last = RNG.choice(RU_FIRST), RNG.choice(RU_LAST)
        ru_rows.append([f"RU{n:04d}", f"{last} {first}", RNG.choice(PROGRAMMES)[0], 2024, ""])
    _write("graduates-cp1251-semicolon.csv", _csv(ru_rows, delimiter=";"), "cp1251")

    employers = [["tax_number", "name", "sector", "region", "contact_name", "contact_email"]]
    for tax, name, sector, region in EMPLOYERS:
        employers.append(
            [tax, name, sector, region, "HR department", f"hr{tax[-2:]}@corp.example.uz"]
        )
    _write("employers.csv", _csv(employers))

    kinds = [
        "internship",
        "production_practice",
        "Стажировка",
        "Joint research",
        "employment",
        "targeted training",
        "attestation_commission",
        "qo'shma faoliyat",
    ]
    agreements = [
        ["number", "employer_tax_number", "kind", "signed_on", "valid_from", "valid_until"]
    ]
    for n, ((tax, *_), kind) in enumerate(zip(EMPLOYERS, kinds, strict=True), start=1):
        signed = dt.date(2022, 1, 10) + dt.timedelta(days=RNG.randrange(0, 900))
        start = signed + dt.timedelta(days=RNG.randrange(0, 30))
        until = "" if n % 3 == 0 else (start + dt.timedelta(days=3 * 365)).isoformat()
        signed_text = signed.strftime("%d.%m.%Y") if n % 2 else signed.isoformat()
        agreements.append([f"SH-{n:03d}", tax, kind, signed_text, start.isoformat(), until])
    _write("agreements.csv", _csv(agreements))

    employment = [["student_number", "employer_tax_number", "position", "start_date", "end_date"]]
    for row in grads[:25]:
        year = int(row[3])
        start = dt.date(year, 8, 1) + dt.timedelta(days=RNG.randrange(0, 120))
        end = "" if RNG.random() < 0.8 else (start + dt.timedelta(days=200)).isoformat()
        employment.append(
            [row[0], RNG.choice(EMPLOYERS)[0], RNG.choice(POSITIONS), start.isoformat(), end]
        )
    _write("employment.csv", _csv(employment))

    internship_agreements = {
        a[1]: a[0] for a in agreements[1:] if a[2] in ("internship", "Стажировка")
    }
    internships = [
        [
            "student_number",
            "employer_tax_number",
            "start_date",
            "end_date",
            "mentor_name",
            "agreement_number",
        ]
    ]
    for row in grads[:10]:
        tax = RNG.choice(list(internship_agreements))
        start = dt.date(int(row[3]) - 1, 6, 1) + dt.timedelta(days=RNG.randrange(0, 20))
        internships.append(
            [
                row[0],
                tax,
                start.strftime("%d.%m.%Y"),
                (start + dt.timedelta(days=42)).isoformat(),
                f"{RNG.choice(LAST)} {RNG.choice(FIRST)}",
                internship_agreements[tax],
            ]
        )
    _write("internships.csv", _csv(internships))

    # --- files with mistakes (the tests expect exactly these) ---------------------------
    bad = [
        grad_header,
        [grads[0][0], grads[0][1], "99999999", 2024, ""],  # row 2: unknown programme
        ["QM-DUP-1", "Duplicate One", PROGRAMMES[0][0], 2024, ""],  # row 3
        ["QM-DUP-1", "Duplicate Two", PROGRAMMES[0][0], 2024, ""],  # row 4: duplicate
        ["QM-BAD-3", "Future Year", PROGRAMMES[0][0], 2099, ""],  # row 5: year
        ["QM-BAD-4", "Bad Mail", PROGRAMMES[0][0], 2024, "not-an-email"],  # row 6
        ["QM-BAD-5", "", PROGRAMMES[0][0], 2024, ""],  # row 7: missing name
        ["QM-OK-6", "Valid Row", PROGRAMMES[0][0], 2024, "ok@mail.example.uz"],
    ]
    _write("graduates-bad.csv", _csv(bad))

    employment_bad = [
        employment[0],
        [grads[0][0], EMPLOYERS[0][0], "engineer", "2099-01-01", ""],  # future
        [grads[1][0], EMPLOYERS[0][0], "engineer", "2024-05-01", "2024-04-01"],
        ["NO-SUCH-STUDENT", EMPLOYERS[0][0], "engineer", "2024-05-01", ""],
        [grads[2][0], "999999999", "engineer", "2024-05-01", ""],
        [grads[3][0], EMPLOYERS[0][0], "engineer", "31.02.2024", ""],
    ]
    _write("employment-bad.csv", _csv(employment_bad))

    agreements_bad = [
        agreements[0],
        ["SH-900", EMPLOYERS[0][0], "friendship", "2024-01-10", "2024-02-01", ""],
        ["SH-901", EMPLOYERS[0][0], "internship", "2099-01-10", "2024-02-01", ""],
        ["SH-902", EMPLOYERS[0][0], "internship", "2024-01-10", "2024-02-01", "2023-02-01"],
    ]
    _write("agreements-bad.csv", _csv(agreements_bad))

    _write(
        "wrong-header.csv",
        _csv(
            [["id", "name", "programme", "born"], ["1", "Someone", PROGRAMMES[0][0], "2001-01-01"]]
        ),
    )
    _write("empty.csv", "")
    _write("not-a-workbook.xlsx", "student_number,full_name\r\nQM1,Someone\r\n")

    book = Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["This workbook lists graduates on the second sheet."])
    other = book.create_sheet("Sheet2")
    other.append(grad_header)
    other.append(grads[0])
    book.save(HERE / "graduates-wrong-sheet.xlsx")


if __name__ == "__main__":
    main()
