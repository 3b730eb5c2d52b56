"""``hamkor export``: the ratings table as CSV, the input of ``hamkor indicators``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from surveys.cli import with_app


@click.group("export")
def export() -> None:
    """Export data for analysis (pseudonymous: never names or free text)."""


@export.command("ratings")
@click.option("--year", type=int, required=True, help="Graduation year of the cohort rated.")
@click.option("--institution", "institution_code", help="Only this institution (code).")
@click.option("--instrument", "instrument_key", help="Only this instrument (key).")
@click.option(
    "--output",
    required=True,
    help="CSV file to write (UTF-8, no BOM), or - for standard output.",
)
@with_app
def ratings(
    year: int, institution_code: str | None, instrument_key: str | None, output: str
) -> None:
    """Write the ratings table of submitted responses (one row per response × numeric item).

    Columns: institution, programme, year, instrument, response_id, subject_id, rater_id,
    domain, item, score, scale_min, scale_max. An empty score means N/A or not answered.
    """
    from sqlalchemy import select

    from surveys.extensions import db
    from surveys.instruments.models import Instrument
    from surveys.registry.services import institution_by_code
    from surveys.responses.ratings import iter_ratings, write_ratings_csv

    session = db.session
    institution_id = None
    if institution_code is not None:
        institution = institution_by_code(session, institution_code)
        institution_id = institution.id if institution is not None else None
        if institution_id is None:
            raise click.BadParameter(
                f"no institution with code {institution_code!r}", param_hint="--institution"
            )
    if instrument_key is not None and (
        session.scalar(select(Instrument.id).where(Instrument.key == instrument_key)) is None
    ):
        raise click.BadParameter(
            f"no instrument with key {instrument_key!r}", param_hint="--instrument"
        )
    rows = iter_ratings(
        session, year=year, institution_id=institution_id, instrument=instrument_key
    )
    if output == "-":
        count = write_ratings_csv(rows, sys.stdout)
        click.echo(f"{count} rating row(s) written.", err=True)
        return
    # write next to the target and rename: an interrupted export never leaves half a file
    target = Path(output)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent.resolve()
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = write_ratings_csv(rows, stream)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"{count} rating row(s) written to {target}.")
    if count == 0:
        click.echo(
            f"Warning: no submitted responses about the {year} cohort match; the file has "
            "only the header.",
            err=True,
        )


commands: list[click.Command] = [export]
