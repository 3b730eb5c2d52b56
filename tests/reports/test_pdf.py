"""The PDF report read back with poppler: text, fonts, page numbers, the first page as PNG."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask_babel import force_locale

from analysis.presentation import present
from surveys.reports.services import build_report, check_request

#: The first page of each PDF lands here as PNG (the folder's .gitignore keeps it out).
ARTIFACTS = Path(__file__).parent / "artifacts"


def _text(pdf: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    assert not result.stderr, result.stderr  # a broken content stream shows here
    return result.stdout


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_institution_pdf_has_programmes_values_contents_methodology_and_fonts(
    runner, world, records_of, tmp_path, database_url
):
    path = tmp_path / "tdtu.pdf"
    result = runner.invoke(
        args=[
            "report",
            "--year",
            "2025",
            "--institution",
            "TDTU",
            "--lang",
            "en",
            "--format",
            "pdf",
            "--output",
            str(path),
        ]
    )
    assert result.exit_code == 0, result.output
    pages = int(re.search(r", (\d+) pages\)", result.output).group(1))
    assert path.read_bytes().startswith(b"%PDF-")
    text = _text(path)
    flat = _flat(text)
    for name in (
        "Mechanical engineering",
        "Chemical technology",
        "Mining",
        "Electrical power engineering",
    ):
        assert name in flat
    assert "Samarkand" not in flat and "Philology" not in flat  # another institution
    # the values as the presentation module rounds them, e.g. "84.4%" and "32"
    found = records_of(world.institutions["TDTU"], 2025)
    shown = [
        present(r, "en", min_n=found.min_n)
        for r in found.records
        if r.programme == "MECH"
        and r.domain is None
        and r.instrument
        and r.indicator in ("overall_satisfied", "nps", "response_rate")
        and "pooled" not in r.flags
    ]
    assert len(shown) == 3
    for display in shown:
        assert display.estimate and display.estimate in flat, display
    elec = next(r for r in found.records if r.programme == "ELEC" and r.indicator == "responses")
    assert elec.suppressed and "< 5" in flat  # shown as the pages show it
    assert "Summary of the programmes" in flat and "target" in flat
    # the charts are vector drawings: their axis titles are text, and there is no raster image
    assert "Score (0–100)" in flat
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True)
    assert images.returncode == 0 and len(images.stdout.splitlines()) == 2, images.stdout
    assert "Partnership evidence" in flat and "Partner enterprises by kind of agreement" in flat
    assert "Methodology: how Hamkor computes the quality-of-training indicators" in flat
    # contents with page numbers from target-counter, and page numbers on every page
    contents = re.search(r"Contents(.*?)Summary of the programmes Every", flat).group(1)
    assert re.search(r"MECH Mechanical engineering \.{3,} ?\d+", contents), contents
    assert f"Page 2 / {pages}" in flat and f"Page {pages} / {pages}" in flat
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows and any("DejaVu-Sans" in row for row in rows)
    assert all(row.split()[-5] == "yes" for row in rows), fonts.stdout  # emb column
    ARTIFACTS.mkdir(exist_ok=True)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    prefix = ARTIFACTS / f"report-first-page-{backend}"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(path),
            str(prefix),
        ],
        check=True,
    )
    png = prefix.with_suffix(".png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    shutil.copy(path, ARTIFACTS / f"report-{backend}.pdf")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        # Cyrillic and Uzbek Latin (the modifier letter ʻ of oʻ and gʻ) come out as text
        ("ru", ("Методика", "Содержание", "удовлетворённые в целом")),
        ("uz", ("Metodika", "Mundarija", "Umuman qoniqqan ish beruvchilar", "koʻrsatkich")),
    ],
)
def test_committee_pdf_holds_only_its_programme_and_no_personal_data(
    app, db, world, tmp_path, lang, words
):
    with app.test_request_context(), force_locale(lang):
        scope = check_request(db, world.expert, year=2025, fmt="pdf", lang=lang)
        built = build_report(db, scope)
    path = tmp_path / "committee.pdf"
    path.write_bytes(built.data)
    flat = _flat(_text(path))
    assert "Mechanical engineering" in flat
    assert "Chemical technology" not in flat and "Mining" not in flat
    for word in words:
        assert word in flat, word
    leaked = [s for s in world.secrets if s in flat]
    assert not leaked, leaked


def test_programmes_without_data_are_listed_together_not_given_a_page_each(
    app, db, world, tmp_path
):
    """An institution's new or closed programmes have nothing for the year: a page each made
    a report of 595 pages for an institution with 500 such programmes (found 2026-12-01)."""
    from tests import factories

    institution = world.institutions["TDTU"]
    empty = [
        factories.make_programme(db, institution, code=f"NEW{n:02d}", name=f"New programme {n}")
        for n in range(40)
    ]
    db.commit()
    with app.test_request_context(), force_locale("en"):
        scope = check_request(db, world.staff, year=2025, fmt="pdf", lang="en")
        built = build_report(db, scope)
    assert built.pages < len(empty)  # 40 more pages before, one list now
    path = tmp_path / "tdtu.pdf"
    path.write_bytes(built.data)
    flat = _flat(_text(path))
    contents = re.search(r"Contents(.*?)Summary of the programmes Every", flat).group(1)
    assert re.search(r"Programmes without data for 2025 ?\.{3,} ?\d+", contents), contents
    assert "NEW00" not in contents
    assert re.search(r"MECH Mechanical engineering \.{3,} ?\d+", contents)  # still a section
    chapter = re.search(
        r"Programmes without data for 2025 Nothing is recorded(.*?)Partnership evidence", flat
    ).group(1)
    assert all(f"{p.code} {p.name}" in chapter for p in empty), chapter
    # the partnership evidence lists them once, together, instead of a heading each
    partners = flat[flat.rindex("Programmes without partner enterprises") :]
    assert "No graduate of these programmes interned at or works for a partner" in partners
    assert all(f"{p.code} {p.name}" in partners for p in empty)
    assert flat.count("New programme 7 ") == 2  # the two lists; no heading, contents or page
