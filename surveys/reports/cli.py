"""``hamkor report``: a yearly report written to a file, from the command line.

Whoever runs the command holds the database, so it may report on any institution (as an
administrator's page would); the web page offers each reader only their own scope.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import click

from surveys.cli import with_app
from surveys.reports.services import FORMATS, LANGUAGES


@click.command("report")
@click.option("--year", type=int, required=True, help="Graduation year of the cohort rated.")
@click.option(
    "--institution",
    "institution_code",
    metavar="CODE",
    help="Institution code (default: the first institution by code).",
)
@click.option("--programme", "programme_code", metavar="CODE", help="Only this programme of it.")
@click.option(
    "--lang",
    default="uz",
    show_default=True,
    metavar="|".join(LANGUAGES),
    help="Language of the report's texts.",
)
@click.option(
    "--format",
    "fmt",
    required=True,
    metavar="|".join(FORMATS),
    help="pdf (the accreditation report), xlsx, csv (indicator records) or sav (SPSS: "
    "responses, pseudonymous).",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (written whole or not at all).",
)
@with_app
def report(
    year: int,
    institution_code: str | None,
    programme_code: str | None,
    lang: str,
    fmt: str,
    output: str,
) -> None:
    """Write a yearly report of one institution (or one programme) to a file.

    \b
    Example:
      hamkor report --year 2025 --institution TDTU --lang ru --format pdf --output tdtu.pdf
    """
    from flask_babel import force_locale

    from surveys.charts.export import ChartTimeout
    from surveys.dashboard.scope import EVERYTHING
    from surveys.extensions import db
    from surveys.reports.services import ReportProblem, build_report, check_request

    session = db.session
    target = Path(output)
    if not target.parent.resolve().is_dir():
        raise click.BadParameter(f"folder {target.parent} does not exist", param_hint="--output")
    language = lang.strip().lower()
    started = time.perf_counter()
    with force_locale("en"):  # the command's messages are English, as every command's
        try:
            scope = check_request(
                session,
                EVERYTHING,
                year=year,
                fmt=fmt,
                lang=language,
                institution_code=institution_code,
                programme_code=programme_code,
            )
        except ReportProblem as problem:
            raise click.BadParameter(problem.message, param_hint=f"--{problem.field}") from None
    try:
        with force_locale(scope.lang):  # the report's texts in the language asked for
            built = build_report(
                session,
                scope,
                progress=lambda done, total, message: click.echo(
                    f"  {done}/{total} {message}", err=True
                ),
            )
    except ChartTimeout as error:
        raise click.ClickException(f"{error}; nothing was written, try again") from None
    session.commit()  # indicators computed now are stored for the pages and the API
    _write_whole(target, built.data)
    pages = f", {built.pages} pages" if built.pages else ""
    click.echo(
        f"Wrote {target} ({len(built.data):,} bytes{pages}) in "
        f"{time.perf_counter() - started:.1f} s."
    )


def _write_whole(target: Path, data: bytes) -> None:
    """Write beside the target and rename into place: never half a file."""
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent.resolve()
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


commands: list[click.Command] = [report]
